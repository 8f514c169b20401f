// Each header_tu is compiled on its own; this only makes them one program.
int main() {
  return 0;
}
