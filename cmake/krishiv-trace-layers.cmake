# Finding the dependencies of krishiv-trace's opt-in layers, for CMakeLists.txt (add_subdirectory,
# FetchContent) and the installed krishiv-traceConfig.cmake alike.
#
#   krishiv_trace_find_fmt(<var>)   <var>: the target to link for fmt, or "" when not found
#   krishiv_trace_find_grpc(<var>)  <var>: the target to link for grpc++, or "" when not found
#
# A target the project already has (fmt::fmt, gRPC::grpc++) is used as it is. Otherwise fmt comes
# from its CMake package, or pkg-config; grpc++ from pkg-config first, then gRPC's CMake package:
# Debian 12's gRPCConfig.cmake stops the configure with a fatal error unless the gRPC compiler
# plugin (protobuf-compiler-grpc) is installed, which linking against grpc++ does not need.
include_guard(GLOBAL)

function(krishiv_trace_find_fmt out)
  set(lib "")
  if(TARGET fmt::fmt)
    set(lib fmt::fmt)
  elseif(TARGET fmt::fmt-header-only)
    set(lib fmt::fmt-header-only)
  else()
    find_package(fmt CONFIG QUIET)
    if(TARGET fmt::fmt)
      set(lib fmt::fmt)
    else()
      find_package(PkgConfig QUIET)
      if(PKG_CONFIG_FOUND)
        if(NOT TARGET PkgConfig::KRISHIV_TRACE_FMT)
          pkg_check_modules(KRISHIV_TRACE_FMT QUIET IMPORTED_TARGET fmt)
        endif()
        if(TARGET PkgConfig::KRISHIV_TRACE_FMT)
          set(lib PkgConfig::KRISHIV_TRACE_FMT)
        endif()
      endif()
    endif()
  endif()
  set(${out} "${lib}" PARENT_SCOPE)
endfunction()

function(krishiv_trace_find_grpc out)
  set(lib "")
  if(TARGET gRPC::grpc++)
    set(lib gRPC::grpc++)
  else()
    find_package(PkgConfig QUIET)
    if(PKG_CONFIG_FOUND)
      if(NOT TARGET PkgConfig::KRISHIV_TRACE_GRPC)
        pkg_check_modules(KRISHIV_TRACE_GRPC QUIET IMPORTED_TARGET grpc++)
      endif()
      if(TARGET PkgConfig::KRISHIV_TRACE_GRPC)
        set(lib PkgConfig::KRISHIV_TRACE_GRPC)
      endif()
    endif()
    if(NOT lib)
      find_package(gRPC CONFIG QUIET)
      if(TARGET gRPC::grpc++)
        set(lib gRPC::grpc++)
      endif()
    endif()
  endif()
  set(${out} "${lib}" PARENT_SCOPE)
endfunction()
