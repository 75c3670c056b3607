#include "audit/redaction.h"

#include <doctest/doctest.h>

using namespace toolgate::audit;
using nlohmann::json;

namespace {

std::shared_ptr<const SecretRedactor> Default() {
  auto r = SecretRedactor::Create(toolgate::RedactionOptions{});
  REQUIRE(r.ok());
  return *r;
}

std::string Redacted(const std::string& text, std::vector<std::string>* kinds = nullptr) {
  std::string s = text;
  Default()->RedactText(&s, kinds);
  return s;
}

}  // namespace

TEST_CASE("AWS access key ids are redacted") {
  std::vector<std::string> kinds;
  const std::string out = Redacted("aws s3 ls --profile x AKIAIOSFODNN7EXAMPLE done", &kinds);
  CHECK(out.find("AKIAIOSFODNN7EXAMPLE") == std::string::npos);
  CHECK(out.find("[REDACTED:aws_access_key_id]") != std::string::npos);
  CHECK(out.find("aws s3 ls") == 0);
  CHECK(kinds == std::vector<std::string>{"aws_access_key_id"});
}

TEST_CASE("GitHub tokens are redacted") {
  const std::string tok = "ghp_" + std::string(36, 'a');
  CHECK(Redacted("git clone https://x/y -c http.extraheader=" + tok).find(tok) == std::string::npos);
  const std::string pat = "github_pat_" + std::string(30, 'B');
  CHECK(Redacted("export T=" + pat).find(pat) == std::string::npos);
}

TEST_CASE("private key blocks are redacted whole, even unterminated") {
  const std::string block =
      "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\nAAAABG5vbmU=\n-----END OPENSSH PRIVATE KEY-----";
  const std::string out = Redacted("cat > key <<EOF\n" + block + "\nEOF");
  CHECK(out.find("b3BlbnNzaC1rZXktdjEAAAAA") == std::string::npos);
  CHECK(out.find("[REDACTED:private_key]") != std::string::npos);
  CHECK(out.find("EOF") != std::string::npos);
  CHECK(Redacted("-----BEGIN RSA PRIVATE KEY-----\nMIIEow...").find("MIIEow") == std::string::npos);
}

TEST_CASE("password-style assignments keep the name and lose the value") {
  CHECK(Redacted("mysql password=hunter2 -h db") == "mysql password=[REDACTED:secret_assignment] -h db");
  CHECK(Redacted("export DB_PASSWORD='s3cr3t value'") == "export DB_PASSWORD=[REDACTED:secret_assignment]");
  CHECK(Redacted("AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY aws s3 ls")
            .find("wJalrXUtnFEMI") == std::string::npos);
  CHECK(Redacted("curl -u me --password hunter2 x").find("hunter2") == std::string::npos);
  CHECK(Redacted("curl -H 'Authorization: Bearer abcdefghijklmnopqrstuvwxyz0123'").find("abcdefghijklmnop") ==
        std::string::npos);
  CHECK(Redacted("git clone https://bob:tops3cret@github.com/x/y").find("tops3cret") == std::string::npos);
}

TEST_CASE("ordinary commands are left alone") {
  for (const char* s : {"git status", "ls -la ~/project", "cat README.md | grep password_policy",
                        "echo the token count is high", "make -j8 test"}) {
    CHECK(Redacted(s) == s);
  }
}

TEST_CASE("JSON redaction walks nested values and secret-named keys, with pointers") {
  json input = {{"command", "echo AKIAIOSFODNN7EXAMPLE"},
                {"env", {{"API_KEY", "abc"}, {"HOME", "/root"}}},
                {"args", json::array({"x", "token=zzz"})}};
  std::vector<Redaction> found;
  Default()->RedactJson(&input, "/call/tool_input", &found);
  CHECK(input["env"]["API_KEY"] == "[REDACTED:secret_field]");
  CHECK(input["env"]["HOME"] == "/root");
  CHECK(input["args"][1] == "token=[REDACTED:secret_assignment]");
  REQUIRE(found.size() == 3);
  bool saw_env = false;
  for (const auto& f : found) saw_env |= f.pointer == "/call/tool_input/env/API_KEY";
  CHECK(saw_env);
}

TEST_CASE("redaction can be turned off, and extra patterns added") {
  toolgate::RedactionOptions off;
  off.enabled = false;
  auto r = SecretRedactor::Create(off);
  REQUIRE(r.ok());
  std::string s = "AKIAIOSFODNN7EXAMPLE";
  CHECK_FALSE((*r)->RedactText(&s, nullptr));

  toolgate::RedactionOptions extra;
  extra.extra.push_back({"employee_id", R"(\bEMP-[0-9]{6}\b)"});
  auto e = SecretRedactor::Create(extra);
  REQUIRE(e.ok());
  std::string t = "lookup EMP-123456";
  CHECK((*e)->RedactText(&t, nullptr));
  CHECK(t == "lookup [REDACTED:employee_id]");

  toolgate::RedactionOptions broken;
  broken.extra.push_back({"bad", "("});
  CHECK_FALSE(SecretRedactor::Create(broken).ok());
}

TEST_CASE("a secret in the argv element after a secret flag is redacted") {
  json argv = json::array({"mysql", "--password", "hunter2", "-h", "db"});
  std::vector<Redaction> found;
  Default()->RedactJson(&argv, "/effects/execs/0/argv", &found);
  CHECK(argv[2] == "[REDACTED:secret_flag]");
  CHECK(argv[3] == "-h");
  REQUIRE(found.size() == 1);
  CHECK(found[0].pointer == "/effects/execs/0/argv/2");
}

TEST_CASE("a key that mentions a secret word anywhere, in any case, makes the scan suspicious") {
  for (const char* k : {"pass", "PASSWORD", "db_Pass", "xsecret", "mySECRETs", "token", "AccessToken", "api_key",
                        "KEY", "monkey", "cred", "Credentials", "x-cReD-y", "ppass", "sstoken", "kkey", "ccred"}) {
    toolgate::audit::RedactionScan scan;
    scan.Key(k);
    CHECK_MESSAGE(scan.suspicious, k);
  }
  for (const char* k : {"", "p", "pas", "secre", "toke", "ke", "cre", "command", "description", "file_path", "url",
                        "passe_partout_x"}) {
    toolgate::audit::RedactionScan scan;
    scan.Key(k);
    CHECK_MESSAGE(scan.suspicious == (std::string_view(k).find("pass") != std::string_view::npos), k);
  }
}
