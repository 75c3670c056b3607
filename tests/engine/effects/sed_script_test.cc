// The sed script scanner: file names and commands, never regex text.
#include <doctest/doctest.h>

#include <string>
#include <string_view>

#include "effects/sed_script.h"

namespace toolgate::effects {
namespace {

bool HasFile(const SedScriptEffects& sed, std::string_view name, bool write) {
  for (const SedFileAccess& file : sed.files) {
    if (file.name == name && file.write == write) return true;
  }
  return false;
}

TEST_CASE("addresses and s/y operands are not file names") {
  for (std::string_view script :
       {"/start/,/end/p", "s/a/b/", "s|/etc/x|/y|g", "s,/w /etc/x,,", "y/abc/xyz/", "y,/w,/x,",
        "/x/I,+3d", "0,/re/s//X/", "\\%/etc/w x%d", "s/[/]/X/", "/[/]w x/p", "s/[[:alpha:]/]/X/g", "s/a\\/w x/b/",
        "1~2p;$p", "$!N;P;D", "/a/{p;p}", "/a/ !p", ":a;s/x/y/;ta", "b end ; s/a/X/; :end", "l 5", "q5", "#n\np",
        "1a foo; w /tmp/x", "1i\\\nw /tmp/x", "$c\\\nline one\\\nw /tmp/x", "s/a/\\\nw x/", "", " ; ;"}) {
    CAPTURE(script);
    SedScriptEffects sed = AnalyzeSedScript(script);
    CHECK(sed.understood);
    CHECK(sed.files.empty());
    CHECK_FALSE(sed.runs_command);
  }
}

TEST_CASE("w, W, r, R and s///w name files") {
  SedScriptEffects w = AnalyzeSedScript("/x/w out.txt");
  CHECK(w.understood);
  CHECK(HasFile(w, "out.txt", true));
  CHECK(HasFile(AnalyzeSedScript("W /tmp/o"), "/tmp/o", true));
  CHECK(HasFile(AnalyzeSedScript("s/a/b/w /etc/cron.d/x"), "/etc/cron.d/x", true));
  CHECK(HasFile(AnalyzeSedScript("s/a/b/gpw /etc/cron.d/x"), "/etc/cron.d/x", true));
  CHECK(HasFile(AnalyzeSedScript("s/[/]/b/w x"), "x", true));
  CHECK(HasFile(AnalyzeSedScript("r /etc/shadow"), "/etc/shadow", false));
  CHECK(HasFile(AnalyzeSedScript("/a/R notes"), "notes", false));
  // The name runs to the end of the line, ; and } included.
  CHECK(HasFile(AnalyzeSedScript("/x/w /tmp/a;p"), "/tmp/a;p", true));
  SedScriptEffects block = AnalyzeSedScript("/a/{p;w out\n}\n$r in");
  CHECK(block.understood);
  CHECK(HasFile(block, "out", true));
  CHECK(HasFile(block, "in", false));
  // sed's own streams are not files.
  CHECK(AnalyzeSedScript("w /dev/stdout").files.empty());
  CHECK(AnalyzeSedScript("r /dev/stdin").files.empty());
}

TEST_CASE("e and s///e run commands") {
  CHECK(AnalyzeSedScript("1e id").runs_command);
  CHECK(AnalyzeSedScript("e").runs_command);
  CHECK(AnalyzeSedScript("s/x/id/e").runs_command);
  CHECK(AnalyzeSedScript("/a/{s/x/y/ge}").runs_command);
  CHECK_FALSE(AnalyzeSedScript("s/e/e/").runs_command);
}

TEST_CASE("scripts sed would refuse are not understood") {
  for (std::string_view script : {"s/a/b", "s/[/b/", "k", "{p", "p}", "w", "s/a/b/ x", "/a", "1,", "y/a/"}) {
    CAPTURE(script);
    CHECK_FALSE(AnalyzeSedScript(script).understood);
  }
}

}  // namespace
}  // namespace toolgate::effects
