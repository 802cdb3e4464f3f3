#include <cassert>
#include <vector>

#include "core/raft/state_machine.hpp"

namespace core::raft {

namespace {

std::vector<std::string_view> split(std::string_view s) {
  std::vector<std::string_view> out;
  while (true) {
    size_t sp = s.find(' ');
    out.push_back(s.substr(0, sp));
    if (sp == std::string_view::npos) break;
    s = s.substr(sp + 1);
  }
  return out;
}

}  // namespace

std::string KvStateMachine::put(std::string_view key, std::string_view value) {
  return "put " + std::string(key) + " " + std::string(value);
}
std::string KvStateMachine::get(std::string_view key) { return "get " + std::string(key); }
std::string KvStateMachine::cas(std::string_view key, std::string_view expected, std::string_view value) {
  return "cas " + std::string(key) + " " + std::string(expected) + " " + std::string(value);
}
std::string KvStateMachine::del(std::string_view key) { return "del " + std::string(key); }

std::string KvStateMachine::apply(uint64_t /*index*/, uint64_t /*term*/, const std::string& data) {
  std::vector<std::string_view> f = split(data);
  const std::string_view op = f[0];
  if (op == "put" && f.size() == 3) {
    data_.insert_or_assign(std::string(f[1]), std::string(f[2]));
    return "ok";
  }
  if (op == "get" && f.size() == 2) {
    auto it = data_.find(f[1]);
    return it == data_.end() ? "notfound" : "ok " + it->second;
  }
  if (op == "cas" && f.size() == 4) {
    auto it = data_.find(f[1]);
    if (it == data_.end()) return "notfound";
    if (it->second != f[2]) return "fail " + it->second;
    it->second = std::string(f[3]);
    return "ok";
  }
  if (op == "del" && f.size() == 2) {
    auto it = data_.find(f[1]);
    if (it == data_.end()) return "notfound";
    data_.erase(it);
    return "ok";
  }
  return "error unknown command";
}

std::string KvStateMachine::snapshot() const {
  std::string out;
  for (const auto& [k, v] : data_) {
    out += std::to_string(k.size()) + ":" + k + std::to_string(v.size()) + ":" + v;
  }
  return out;
}

void KvStateMachine::restore(const std::string& snapshot) {
  data_.clear();
  std::string_view s = snapshot;
  auto field = [&s](std::string& out) {
    size_t colon = s.find(':');
    assert(colon != std::string_view::npos && "corrupt KV snapshot");
    size_t len = std::stoull(std::string(s.substr(0, colon)));
    out = std::string(s.substr(colon + 1, len));
    s = s.substr(colon + 1 + len);
  };
  while (!s.empty()) {
    std::string k, v;
    field(k);
    field(v);
    data_.emplace(std::move(k), std::move(v));
  }
}

}  // namespace core::raft
