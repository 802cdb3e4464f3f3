// Transcript tests for core/raft, in the style of etcd-io/raft's datadriven
// testdata: each file in testdata/raft/ is a script of commands, each followed
// by "----" and the exact output it must produce. Set RAFT_REWRITE=1 to
// regenerate the expected outputs (then read the diff before committing it).
//
// Commands (ids are node numbers; durations like 150ms, 2s):
//   cluster n=3 [voters=0,1,2] [bootstrap=0] [prevote=0] [checkquorum=0] [sticky=0]
//           [unsafe=1] [mode=paper] [manualsync=1] [seed=N] [trailing=N]
//           [threshold=N] [maxappend=N] [ht=D] [et=D] [lease=D] [latency=D]
//   deliver [from=I] [to=I] [type=append_entries] [drop=1] [n=N]
//   stabilize | queue | status | check
//   run D             a discrete-event loop: timers fire, messages arrive
//                     after the one-way latency (1ms), until D has passed
//   tick D            advance the clock, firing due timers in order (no delivery)
//   advance D         advance the clock only
//   fire I TIMER      fire node I's armed timer (election, heartbeat/2, ...)
//   timers I | log I | kv I | snapshot I | sync I
//   crash I [lose=1] | restart I | isolate I... | heal
//   propose I DATA...
//   barrier I
//   verify I          verify_leader
//   bootstrap I VOTERS   live bootstrap with voters VOTERS (e.g. 0,1,2; "-" for none)
//   add-voter|add-nonvoter|demote|remove LEADER TARGET [prev=N]
//   transfer LEADER [TARGET]
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>

#include "tests/core/raft_harness.hpp"

namespace {

using raft_test::Cluster;

std::filesystem::path testdata_dir() {
#ifdef CLUSTERSIM_SOURCE_DIR
  return std::filesystem::path(CLUSTERSIM_SOURCE_DIR) / "tests/core/testdata/raft";
#else
  return std::filesystem::path(__FILE__).parent_path() / "testdata/raft";
#endif
}

core::Duration parse_duration(const std::string& s) {
  size_t pos = 0;
  const long long v = std::stoll(s, &pos);
  const std::string unit = s.substr(pos);
  if (unit == "ms") return v * core::kMillisecond;
  if (unit == "s") return v * core::kSecond;
  if (unit == "us") return v * core::kMicrosecond;
  if (unit == "ns" || unit.empty()) return v;
  throw std::runtime_error("bad duration " + s);
}

struct Command {
  std::vector<std::string> args;                // positional, after the name
  std::map<std::string, std::string> options;  // key=value
  std::string name;

  explicit Command(const std::string& line) {
    std::istringstream in(line);
    in >> name;
    std::string w;
    while (in >> w) {
      const size_t eq = w.find('=');
      if (eq != std::string::npos && name != "propose") {
        options[w.substr(0, eq)] = w.substr(eq + 1);
      } else {
        args.push_back(w);
      }
    }
  }
  std::string opt(const std::string& k, const std::string& dflt = "") const {
    auto it = options.find(k);
    return it == options.end() ? dflt : it->second;
  }
  core::NodeId id(size_t i) const {
    if (i >= args.size()) throw std::runtime_error(name + ": missing node id");
    return static_cast<core::NodeId>(std::stoul(args[i]));
  }
};

uint16_t type_code(const std::string& name) {
  for (uint16_t t = 0x0201; t <= 0x020A; ++t) {
    if (std::string(core::raft::type_name(t)) == "raft." + name) return t;
  }
  throw std::runtime_error("unknown message type " + name);
}

std::string run(std::unique_ptr<Cluster>& c, const std::string& line) {
  Command cmd(line);
  if (cmd.name == "cluster") {
    raft_test::ClusterOptions o;
    o.nodes = std::stoul(cmd.opt("n", "3"));
    if (!cmd.opt("voters").empty()) {
      std::istringstream in(cmd.opt("voters"));
      std::string v;
      while (std::getline(in, v, ',')) o.voters.push_back(static_cast<core::NodeId>(std::stoul(v)));
    }
    o.bootstrap = cmd.opt("bootstrap", "1") == "1";
    o.config.pre_vote = cmd.opt("prevote", "1") == "1";
    o.config.check_quorum = cmd.opt("checkquorum", "1") == "1";
    o.config.leader_stickiness = cmd.opt("sticky", "1") == "1";
    o.config.unsafe_skip_vote_log_check = cmd.opt("unsafe", "0") == "1";
    if (cmd.opt("mode") == "paper") o.config.timer_mode = core::raft::TimerMode::kPaper;
    o.manual_sync = cmd.opt("manualsync", "0") == "1";
    o.seed = std::stoull(cmd.opt("seed", "1"));
    if (!cmd.opt("latency").empty()) o.latency = parse_duration(cmd.opt("latency"));
    if (!cmd.opt("trailing").empty()) o.config.trailing_logs = std::stoull(cmd.opt("trailing"));
    if (!cmd.opt("threshold").empty()) o.config.snapshot_threshold = std::stoull(cmd.opt("threshold"));
    if (!cmd.opt("maxappend").empty()) o.config.max_append_entries = static_cast<uint32_t>(std::stoul(cmd.opt("maxappend")));
    if (!cmd.opt("ht").empty()) o.config.heartbeat_timeout = parse_duration(cmd.opt("ht"));
    if (!cmd.opt("et").empty()) o.config.election_timeout = parse_duration(cmd.opt("et"));
    if (!cmd.opt("lease").empty()) o.config.leader_lease_timeout = parse_duration(cmd.opt("lease"));
    const std::string err = o.config.validate();
    if (!err.empty()) return "invalid config: " + err + "\n";
    c = std::make_unique<Cluster>(o);
  } else if (!c) {
    throw std::runtime_error("no cluster yet");
  } else if (cmd.name == "deliver") {
    const core::NodeId from = cmd.opt("from").empty() ? core::kNoNode : static_cast<core::NodeId>(std::stoul(cmd.opt("from")));
    const core::NodeId to = cmd.opt("to").empty() ? core::kNoNode : static_cast<core::NodeId>(std::stoul(cmd.opt("to")));
    const uint16_t type = cmd.opt("type").empty() ? 0 : type_code(cmd.opt("type"));
    const size_t limit = cmd.opt("n").empty() ? SIZE_MAX : std::stoul(cmd.opt("n"));
    c->deliver(from, to, type, cmd.opt("drop") == "1", limit);
  } else if (cmd.name == "stabilize") {
    c->stabilize();
  } else if (cmd.name == "queue") {
    c->print_queue();
  } else if (cmd.name == "status") {
    c->print_status();
  } else if (cmd.name == "check") {
    c->print_check();
  } else if (cmd.name == "tick") {
    c->tick(parse_duration(cmd.args.at(0)));
    c->print("now " + raft_test::fmt_time(c->now()));
  } else if (cmd.name == "run") {
    c->run(parse_duration(cmd.args.at(0)));
    c->print("now " + raft_test::fmt_time(c->now()));
  } else if (cmd.name == "advance") {
    c->advance(parse_duration(cmd.args.at(0)));
    c->print("now " + raft_test::fmt_time(c->now()));
  } else if (cmd.name == "fire") {
    c->fire(cmd.id(0), cmd.args.at(1));
  } else if (cmd.name == "timers") {
    c->print_timers(cmd.id(0));
  } else if (cmd.name == "log") {
    c->print_log(cmd.id(0));
  } else if (cmd.name == "kv") {
    c->print_kv(cmd.id(0));
  } else if (cmd.name == "snapshot") {
    c->snapshot(cmd.id(0));
  } else if (cmd.name == "sync") {
    c->complete_sync(cmd.id(0));
  } else if (cmd.name == "crash") {
    c->crash(cmd.id(0), cmd.opt("lose") == "1");
  } else if (cmd.name == "restart") {
    c->restart(cmd.id(0));
  } else if (cmd.name == "isolate") {
    for (size_t i = 0; i < cmd.args.size(); ++i) c->isolate(cmd.id(i));
  } else if (cmd.name == "heal") {
    c->heal();
  } else if (cmd.name == "propose") {
    std::string data;
    for (size_t i = 1; i < cmd.args.size(); ++i) data += (i > 1 ? " " : "") + cmd.args[i];
    c->propose(cmd.id(0), data);
  } else if (cmd.name == "barrier") {
    c->barrier(cmd.id(0));
  } else if (cmd.name == "verify") {
    c->verify(cmd.id(0));
  } else if (cmd.name == "bootstrap") {
    std::vector<core::NodeId> voters;
    std::istringstream in(cmd.args.at(1) == "-" ? "" : cmd.args.at(1));
    std::string v;
    while (std::getline(in, v, ',')) voters.push_back(static_cast<core::NodeId>(std::stoul(v)));
    c->bootstrap(cmd.id(0), voters);
  } else if (cmd.name == "add-voter" || cmd.name == "add-nonvoter" || cmd.name == "demote" || cmd.name == "remove") {
    c->change(cmd.id(0), cmd.name, cmd.id(1), std::stoull(cmd.opt("prev", "0")));
  } else if (cmd.name == "transfer") {
    c->transfer(cmd.id(0), cmd.args.size() > 1 ? cmd.id(1) : core::kNoNode);
  } else {
    throw std::runtime_error("unknown command " + cmd.name);
  }
  std::string out = c->take_output();
  return out.empty() ? "ok\n" : out;
}

struct Block {
  std::string preamble;  // comments and blank lines before the command
  std::string command;
  std::string expected;
  size_t line = 0;
};

std::vector<Block> parse(const std::filesystem::path& file) {
  std::ifstream in(file);
  std::vector<Block> blocks;
  std::string line;
  Block cur;
  size_t n = 0;
  enum { kPreamble, kDashes, kOutput } state = kPreamble;
  while (std::getline(in, line)) {
    ++n;
    if (state == kPreamble) {
      if (line.empty() || line[0] == '#') {
        cur.preamble += line + "\n";
      } else {
        cur.command = line;
        cur.line = n;
        state = kDashes;
      }
    } else if (state == kDashes) {
      if (line != "----") throw std::runtime_error(file.string() + ":" + std::to_string(n) + ": expected ----");
      state = kOutput;
    } else if (line.empty()) {
      blocks.push_back(std::move(cur));
      cur = Block{};
      state = kPreamble;
    } else {
      cur.expected += line + "\n";
    }
  }
  if (state != kPreamble) blocks.push_back(std::move(cur));
  return blocks;
}

}  // namespace

TEST_CASE("raft transcripts (tests/core/testdata/raft)", "[raft][transcript]") {
  const bool rewrite = std::getenv("RAFT_REWRITE") != nullptr;
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(testdata_dir())) {
    if (e.path().extension() == ".txt") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  REQUIRE(!files.empty());
  for (const auto& file : files) {
    DYNAMIC_SECTION(file.filename().string()) {
      std::vector<Block> blocks = parse(file);
      std::unique_ptr<Cluster> cluster;
      std::string rewritten;
      for (Block& b : blocks) {
        std::string actual;
        try {
          actual = run(cluster, b.command);
        } catch (const std::exception& ex) {
          actual = std::string("error: ") + ex.what() + "\n";
        }
        if (rewrite) {
          rewritten += b.preamble + b.command + "\n----\n" + actual + "\n";
        } else {
          INFO(file.filename().string() << ":" << b.line << ": " << b.command);
          CHECK(actual == b.expected);
        }
      }
      if (rewrite) {
        while (rewritten.size() >= 2 && rewritten.substr(rewritten.size() - 2) == "\n\n") rewritten.pop_back();
        std::ofstream(file) << rewritten;
      }
    }
  }
}
