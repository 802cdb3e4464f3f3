#include "core/raft/configuration.hpp"

#include <algorithm>

namespace core::raft {

Configuration Configuration::voters(const std::vector<NodeId>& ids) {
  Configuration c;
  for (NodeId id : ids) c.upsert(Server{id, Suffrage::kVoter});
  return c;
}

const Server* Configuration::find(NodeId id) const {
  auto it = std::lower_bound(servers.begin(), servers.end(), id,
                             [](const Server& s, NodeId v) { return s.id < v; });
  return it != servers.end() && it->id == id ? &*it : nullptr;
}

bool Configuration::has_vote(NodeId id) const {
  const Server* s = find(id);
  return s != nullptr && s->suffrage == Suffrage::kVoter;
}

size_t Configuration::voter_count() const {
  return static_cast<size_t>(std::count_if(servers.begin(), servers.end(), [](const Server& s) {
    return s.suffrage == Suffrage::kVoter;
  }));
}

std::vector<NodeId> Configuration::voter_ids() const {
  std::vector<NodeId> out;
  for (const Server& s : servers)
    if (s.suffrage == Suffrage::kVoter) out.push_back(s.id);
  return out;
}

void Configuration::upsert(Server s) {
  auto it = std::lower_bound(servers.begin(), servers.end(), s.id,
                             [](const Server& a, NodeId v) { return a.id < v; });
  if (it != servers.end() && it->id == s.id) {
    *it = s;
  } else {
    servers.insert(it, s);
  }
}

void Configuration::remove(NodeId id) {
  servers.erase(std::remove_if(servers.begin(), servers.end(),
                               [id](const Server& s) { return s.id == id; }),
                servers.end());
}

uint64_t Configuration::mask(Suffrage suffrage) const {
  uint64_t m = 0;
  for (const Server& s : servers)
    if (s.suffrage == suffrage && s.id < 64) m |= uint64_t{1} << s.id;
  return m;
}

std::string Configuration::encode() const {
  std::string out;
  for (const Server& s : servers) {
    if (!out.empty()) out += ',';
    out += s.suffrage == Suffrage::kVoter ? 'v' : 'n';
    out += std::to_string(s.id);
  }
  return out;
}

std::optional<Configuration> Configuration::decode(std::string_view text) {
  Configuration c;
  while (!text.empty()) {
    size_t comma = text.find(',');
    std::string_view item = text.substr(0, comma);
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.size() < 2 || (item[0] != 'v' && item[0] != 'n')) return std::nullopt;
    uint64_t id = 0;
    for (char ch : item.substr(1)) {
      if (ch < '0' || ch > '9') return std::nullopt;
      id = id * 10 + static_cast<uint64_t>(ch - '0');
      if (id >= kNoNode) return std::nullopt;
    }
    c.upsert(Server{static_cast<NodeId>(id), item[0] == 'v' ? Suffrage::kVoter : Suffrage::kNonvoter});
  }
  return c;
}

std::string Configuration::to_string() const {
  std::string out = "{";
  for (const Server& s : servers) {
    if (out.size() > 1) out += ' ';
    if (s.suffrage == Suffrage::kNonvoter) out += 'n';
    out += std::to_string(s.id);
  }
  return out + "}";
}

}  // namespace core::raft
