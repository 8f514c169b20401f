#!/usr/bin/env python3
"""Keeps the public headers' layering honest.

  check_layers.py [--root DIR] [--layers FILE]   every #include of a krishiv header points to the
                                                 includer's layer or a lower one (layers.txt),
                                                 and every header is claimed by a layer
  check_layers.py [--root DIR] --header-lists    every header under include/ is listed in
                                                 include/meson.build (so it gets a
                                                 compile-on-its-own test), and nothing else is
  check_layers.py --self-test                    the checks above fail on trees built to be wrong

Exit status: 0 when clean (warnings allowed), 1 on any error.
"""

import argparse
import os
import posixpath
import re
import sys
import tempfile

HEADER_SUFFIXES = (".hpp", ".h", ".hh", ".hxx", ".ipp", ".tpp")
# layers.txt paths are relative to this folder (relative to include/).
LAYER_BASE = "krishiv/trace"
INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])(krishiv/[^>"]+)[>"]')


class Layers:
    """layers.txt parsed: which layer claims which path (paths relative to include/)."""

    def __init__(self, path, display):
        self.path = path
        self.names = []  # lowest first
        self.files = {}  # "krishiv/trace/x.hpp" -> (layer index, layers.txt line)
        self.folders = {}  # "krishiv/trace/dir/" -> (layer index, layers.txt line)
        self.errors = []
        with open(path, encoding="utf-8") as f:
            for lineno, raw in enumerate(f, 1):
                words = raw.split("#", 1)[0].split()
                if not words:
                    continue
                name, entries = words[0], words[1:]
                where = f"{display}:{lineno}"
                if name in self.names:
                    self.errors.append(f"{where}: error: layer '{name}' declared twice")
                    continue
                if not entries:
                    self.errors.append(f"{where}: error: layer '{name}' claims no path")
                index = len(self.names)
                self.names.append(name)
                for entry in entries:
                    self._claim(entry, index, where)

    def _claim(self, entry, index, where):
        is_folder = entry.endswith("/")
        norm = posixpath.normpath(posixpath.join(LAYER_BASE, entry))
        if norm.startswith("..") or posixpath.isabs(entry):
            self.errors.append(f"{where}: error: '{entry}' points outside include/")
            return
        table = self.folders if is_folder else self.files
        key = norm + "/" if is_folder else norm
        if key in table:
            other = self.names[table[key][0]]
            self.errors.append(f"{where}: error: '{entry}' already claimed by layer '{other}'")
            return
        table[key] = (index, where)

    def layer_of(self, rel):
        """The layer index of a path relative to include/, or None. A file named explicitly wins
        over a folder; a deeper folder wins over a shallower one."""
        if rel in self.files:
            return self.files[rel][0]
        best = None
        for folder, (index, _) in self.folders.items():
            if rel.startswith(folder) and (best is None or len(folder) > len(best[0])):
                best = (folder, index)
        return best[1] if best else None

    def describe(self, index):
        return f"'{self.names[index]}' (layer {index + 1} of {len(self.names)})"


def strip_comments(lines):
    """Yields (line number, code) with comments blanked, so a commented-out or documented
    #include is not taken for a real one. String and character literals are respected."""
    in_block = False
    for lineno, line in enumerate(lines, 1):
        out = []
        i, n = 0, len(line)
        quote = None
        while i < n:
            c = line[i]
            if in_block:
                if line.startswith("*/", i):
                    in_block = False
                    i += 2
                else:
                    i += 1
                continue
            if quote:
                out.append(c)
                if c == "\\" and i + 1 < n:
                    out.append(line[i + 1])
                    i += 2
                    continue
                if c == quote:
                    quote = None
                i += 1
                continue
            if line.startswith("//", i):
                break
            if line.startswith("/*", i):
                in_block = True
                out.append(" ")
                i += 2
                continue
            if c in "\"'":
                # A digit separator (1'000) is not a character literal.
                if not (c == "'" and i > 0 and line[i - 1].isalnum()):
                    quote = c
            out.append(c)
            i += 1
        yield lineno, "".join(out)


def find_headers(include_dir):
    """Headers under include_dir, as sorted paths relative to it ('/'-separated)."""
    found = []
    for dirpath, dirnames, filenames in os.walk(include_dir):
        dirnames.sort()
        for name in filenames:
            if name.endswith(HEADER_SUFFIXES):
                rel = os.path.relpath(os.path.join(dirpath, name), include_dir)
                found.append(rel.replace(os.sep, "/"))
    return sorted(found)


def krishiv_includes(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, code in strip_comments(f.read().splitlines()):
            m = INCLUDE_RE.match(code)
            if m:
                yield lineno, posixpath.normpath(m.group(2))


def check_layers(root, layers_file):
    """Returns (errors, warnings), each a list of messages."""
    layers = Layers(layers_file, os.path.relpath(layers_file, root).replace(os.sep, "/"))
    errors, warnings = list(layers.errors), []
    include_dir = os.path.join(root, "include")
    headers = find_headers(include_dir)
    present = set(headers)

    for rel in headers:
        if layers.layer_of(rel) is None:
            errors.append(f"include/{rel}: error: no layer claims this header "
                          f"(place it in {os.path.relpath(layers_file, root)})")

    # Only warnings: headers are moved between layers in steps.
    for entry, (index, where) in sorted(layers.files.items(), key=lambda kv: kv[1]):
        if entry not in present:
            warnings.append(f"{where}: warning: layer '{layers.names[index]}' claims "
                            f"{entry}, which does not exist")
    for entry, (index, where) in sorted(layers.folders.items(), key=lambda kv: kv[1]):
        if not any(h.startswith(entry) for h in headers):
            warnings.append(f"{where}: warning: layer '{layers.names[index]}' claims "
                            f"{entry}, which holds no header")

    for rel in headers:
        own = layers.layer_of(rel)
        for lineno, target in krishiv_includes(os.path.join(include_dir, rel)):
            where = f"include/{rel}:{lineno}"
            if target not in present:
                errors.append(f"{where}: error: includes {target}, which does not exist")
            theirs = layers.layer_of(target)
            if theirs is None:
                if target in present:  # already reported as unclaimed
                    continue
                errors.append(f"{where}: error: includes {target}, which no layer claims")
            elif own is not None and theirs > own:
                errors.append(f"{where}: error: layer {layers.describe(own)} includes {target} "
                              f"of higher layer {layers.describe(theirs)}")
    return errors, warnings


def check_header_lists(root):
    """Every header under include/ is listed in include/meson.build, and every listed one
    exists. Returns (errors, warnings)."""
    meson_file = os.path.join(root, "include", "meson.build")
    listed = {}
    with open(meson_file, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            code = line.split("#", 1)[0]
            for m in re.finditer(r"'(krishiv[^']*)'", code):
                if m.group(1).endswith(HEADER_SUFFIXES):
                    listed.setdefault(m.group(1), lineno)
    headers = find_headers(os.path.join(root, "include"))
    errors = [f"include/{h}: error: not in include/meson.build's header lists "
              f"(so it has no compile-on-its-own test)" for h in headers if h not in listed]
    errors += [f"include/meson.build:{line}: error: lists {h}, which does not exist"
               for h, line in sorted(listed.items()) if h not in set(headers)]
    return errors, []


def report(errors, warnings, what):
    for w in warnings:
        print(w)
    for e in errors:
        print(e)
    if errors:
        print(f"{what}: {len(errors)} error(s), {len(warnings)} warning(s)")
        return 1
    print(f"{what}: ok ({len(warnings)} warning(s))")
    return 0


# ---- self-test ------------------------------------------------------------------------------


def _write(root, rel, text):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def self_test(layers_file):
    """Builds small trees, each wrong in one way, and checks that the checker says so. Uses the
    real layers.txt, so it also pins the order that matters: detail below span."""
    failures = []

    def expect(name, result, want_error, must_mention=()):
        errors, warnings = result
        text = "\n".join(errors + warnings)
        ok = bool(errors) == want_error and all(s in text for s in must_mention)
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
        if not ok:
            failures.append(name)
            print("     expected " + ("errors" if want_error else "no error")
                  + (f" mentioning {list(must_mention)}" if must_mention else "") + "; got:")
            for line in text.splitlines() or ["(nothing)"]:
                print("     | " + line)

    def tree(files):
        tmp = tempfile.TemporaryDirectory(prefix="check_layers_")
        base = {
            "include/krishiv/trace.hpp": '#include "krishiv/trace/span.hpp"\n',
            "include/krishiv/trace/span.hpp": '#include "krishiv/trace/ids.hpp"\n',
            "include/krishiv/trace/ids.hpp": "#include <krishiv/trace/detail/hex.hpp>\n",
            "include/krishiv/trace/detail/hex.hpp": "#pragma once\n",
        }
        base.update(files)
        listing = "".join(f"  '{rel[len('include/'):]}',\n" for rel in base if base[rel] is not None)
        _write(tmp.name, "include/meson.build", f"core_headers = [\n{listing}]\n")
        for rel, text in base.items():
            if text is not None:
                _write(tmp.name, rel, text)
        return tmp

    with tree({}) as root:
        expect("a correctly layered tree passes", check_layers(root, layers_file), False)
        expect("its header lists pass", check_header_lists(root), False)

    with tree({"include/krishiv/trace/detail/x.hpp": '#pragma once\n#include "krishiv/trace/span.hpp"\n'}) as root:
        expect("detail/x.hpp including span.hpp fails, naming file, line and both layers",
               check_layers(root, layers_file), True,
               ["include/krishiv/trace/detail/x.hpp:2:", "'detail'", "'span'"])

    with tree({"include/krishiv/trace/ids.hpp": "#include <krishiv/trace.hpp>\n"}) as root:
        expect("an include of the umbrella from below fails",
               check_layers(root, layers_file), True,
               ["include/krishiv/trace/ids.hpp:1:", "'vocabulary'", "'umbrella'"])

    with tree({"include/krishiv/trace/detail/x.hpp":
               '// #include "krishiv/trace/span.hpp"\n/*\n#include "krishiv/trace/span.hpp"\n*/\n'}) as root:
        expect("includes inside comments are ignored", check_layers(root, layers_file), False)

    with tree({"include/krishiv/trace/nowhere.hpp": "#pragma once\n"}) as root:
        expect("a header no layer claims fails", check_layers(root, layers_file), True,
               ["include/krishiv/trace/nowhere.hpp", "no layer claims"])

    with tree({"include/krishiv/trace/span.hpp": '#include "krishiv/trace/gone.hpp"\n'}) as root:
        expect("an include of a missing header fails", check_layers(root, layers_file), True,
               ["include/krishiv/trace/span.hpp:1:", "does not exist"])

    with tree({}) as root:
        errors, warnings = check_layers(root, layers_file)
        expect("a layer entry matching no file is only a warning", (errors, warnings), False,
               ["context.hpp, which does not exist"])

    with tree({}) as root:
        _write(root, "include/krishiv/trace/unlisted.hpp", "#pragma once\n")
        expect("a header missing from include/meson.build fails", check_header_lists(root), True,
               ["include/krishiv/trace/unlisted.hpp", "meson.build"])

    with tree({}) as root:
        os.remove(os.path.join(root, "include/krishiv/trace/ids.hpp"))
        expect("a stale entry in include/meson.build fails", check_header_lists(root), True,
               ["krishiv/trace/ids.hpp, which does not exist"])

    with tempfile.TemporaryDirectory(prefix="check_layers_") as tmp:
        bad = os.path.join(tmp, "layers.txt")
        _write(tmp, "layers.txt", "a x.hpp\nb x.hpp\n")
        _write(tmp, "include/krishiv/trace/x.hpp", "")
        expect("a path claimed by two layers fails", check_layers(tmp, bad), True,
               ["already claimed"])

    print(f"self-test: {'FAILED: ' + ', '.join(failures) if failures else 'ok'}")
    return 1 if failures else 0


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--root", default=os.path.dirname(os.path.dirname(here)),
                        help="source root (holds include/)")
    parser.add_argument("--layers", default=os.path.join(here, "layers.txt"))
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--header-lists", action="store_true")
    mode.add_argument("--self-test", action="store_true")
    args = parser.parse_args()
    if args.self_test:
        return self_test(args.layers)
    if args.header_lists:
        return report(*check_header_lists(args.root), "header lists")
    return report(*check_layers(args.root, args.layers), "layers")


if __name__ == "__main__":
    sys.exit(main())
