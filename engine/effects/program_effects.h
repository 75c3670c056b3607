// Program knowledge: what a program does beyond being run, given its argv.
// Which operands of cp are read and which written, which curl option names an
// output file, which argument of sudo starts the command it runs ... Programs
// it does not know get a generic scan: path-looking arguments are reads, URLs
// are hosts.
#pragma once

#include <vector>

#include "effects/shell_effects.h"

namespace toolgate::effects {

// argv[0] is static, or empty text when the program name was dynamic (then
// only the generic argument scan runs). The ExecEffect for argv[0] is
// already recorded; this adds the rest, recursing into wrapped commands and
// nested scripts through `interpreter`.
void AnalyzeProgram(ShellInterpreter& interpreter, const std::vector<Field>& argv, ShellState& state,
                    const CommandContext& ctx);

}  // namespace toolgate::effects
