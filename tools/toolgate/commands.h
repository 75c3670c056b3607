// One function per toolgate subcommand; each returns the process exit code.
#pragma once

#include <string>
#include <vector>

namespace toolgate::cli {

int RunCheck(const std::vector<std::string>& argv);
int RunPolicy(const std::vector<std::string>& argv);  // policy lint FILE
int RunDemo(const std::vector<std::string>& argv);
int RunBench(const std::vector<std::string>& argv);
int RunLog(const std::vector<std::string>& argv);       // log verify|query|stats|report|export|keygen|bench
int RunLogBench(const std::vector<std::string>& argv);  // log bench
int RunReplay(const std::vector<std::string>& argv);    // replay --policy NEW LOGS
int RunTest(const std::vector<std::string>& argv);      // test [DIR]: rule packs' own cases
int RunServe(const std::vector<std::string>& argv);     // serve: the decision daemon on a Unix socket
int RunServeBench(const std::vector<std::string>& argv);  // serve-bench: daemon throughput

}  // namespace toolgate::cli
