#include "cli/cli.h"

int main(int argc, char** argv) { return switchboard::cli::Main(argc, argv); }
