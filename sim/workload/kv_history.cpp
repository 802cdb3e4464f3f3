#include "sim/workload/kv_history.hpp"

#include <cstdio>
#include <limits>
#include <stdexcept>

#include <nlohmann/json.hpp>

namespace sim {

// ---------------------------------------------------------------- recording

KvHistory::Text KvHistory::store(std::string_view s) {
  if (s.empty()) return {};
  if (text_.size() + s.size() > std::numeric_limits<uint32_t>::max())
    throw std::length_error("the KV history outgrew its 4 GiB string buffer");
  const Text t{static_cast<uint32_t>(text_.size()), static_cast<uint32_t>(s.size())};
  text_.append(s);
  return t;
}

size_t KvHistory::invoke(uint64_t process, const KvOp& op, core::NodeId node, core::Time now, uint64_t position) {
  Entry e;
  e.process = process;
  e.invoke_ns = now;
  e.invoke_position = position;
  e.node = node;
  e.kind = op.kind;
  e.key = store(op.key);
  e.value = store(op.value);
  e.expected = store(op.expected);
  entries_.push_back(e);
  events_.push_back(static_cast<uint64_t>(entries_.size() - 1) << 1);
  return entries_.size() - 1;
}

void KvHistory::complete(size_t i, const KvResult& r, core::Time now, uint64_t position) {
  Entry& e = entries_.at(i);
  if (e.completed()) throw std::logic_error("KV history: operation " + std::to_string(e.process) + " completed twice");
  e.complete_ns = now;
  e.complete_position = position;
  e.outcome = r.outcome;
  e.index = r.index;
  if (e.kind == KvOp::Kind::kGet && r.outcome == KvResult::Outcome::kOk) {
    e.found = r.found;
    if (r.found) e.result = store(r.value);
  }
  e.error = store(r.error);
  events_.push_back(static_cast<uint64_t>(i) << 1 | 1);
}

// ---------------------------------------------------------------- JSON Lines

namespace {

const char* outcome_name(KvResult::Outcome o) {
  switch (o) {
    case KvResult::Outcome::kOk: return "ok";
    case KvResult::Outcome::kFail: return "fail";
    case KvResult::Outcome::kUnknown: return "info";
  }
  return "?";
}

bool has_value(KvOp::Kind k) { return k == KvOp::Kind::kPut || k == KvOp::Kind::kCas; }

}  // namespace

void write_history_jsonl(const KvHistory& h, const std::vector<std::string>& node_names, const LineSink& line) {
  using nlohmann::ordered_json;
  const auto str = [&h](KvHistory::Text t) { return ordered_json(std::string(h.text(t))); };
  for (const KvHistory::Entry& e : h.entries()) {
    ordered_json j;
    j["process"] = e.process;
    j["f"] = kv_op_name(e.kind);
    j["key"] = str(e.key);
    j["value"] = has_value(e.kind) ? str(e.value) : nullptr;
    j["expected"] = e.kind == KvOp::Kind::kCas ? str(e.expected) : nullptr;
    j["node"] = e.node < node_names.size() ? ordered_json(node_names[e.node]) : nullptr;
    j["invoke_ns"] = e.invoke_ns;
    j["invoke_position"] = e.invoke_position;
    j["complete_ns"] = e.completed() ? ordered_json(e.complete_ns) : nullptr;
    j["complete_position"] = e.completed() ? ordered_json(e.complete_position) : nullptr;
    j["outcome"] = outcome_name(e.outcome);
    j["result"] = e.found ? str(e.result) : nullptr;
    j["index"] = e.index != 0 ? ordered_json(e.index) : nullptr;
    j["error"] = e.error.size != 0 ? str(e.error) : nullptr;
    line(j.dump());
  }
}

// ---------------------------------------------------------------- EDN

namespace {

// An EDN string literal (Clojure's escapes).
void edn_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\t': out += "\\t"; break;
      case '\r': out += "\\r"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

enum class Line : uint8_t { kInvoke, kComplete, kNeverCompleted };

// {:type :T, :f :F, :key "K", :value V, :process P[, :time T][, :error "E"]}
std::string edn_line(const KvHistory& h, const KvHistory::Entry& e, Line what) {
  std::string s = "{:type :";
  s += what == Line::kInvoke ? "invoke" : what == Line::kComplete ? outcome_name(e.outcome) : "info";
  s += ", :f :";
  s += kv_op_name(e.kind);
  s += ", :key ";
  edn_string(s, h.text(e.key));
  s += ", :value ";
  switch (e.kind) {
    case KvOp::Kind::kPut: edn_string(s, h.text(e.value)); break;
    case KvOp::Kind::kCas:  // Jepsen's [expected new]
      s += '[';
      edn_string(s, h.text(e.expected));
      s += ' ';
      edn_string(s, h.text(e.value));
      s += ']';
      break;
    case KvOp::Kind::kGet:
      if (what == Line::kComplete && e.found) edn_string(s, h.text(e.result));
      else s += "nil";
      break;
    case KvOp::Kind::kDelete: s += "nil"; break;
  }
  s += ", :process " + std::to_string(e.process);
  if (what == Line::kInvoke) s += ", :time " + std::to_string(e.invoke_ns);
  if (what == Line::kComplete) s += ", :time " + std::to_string(e.complete_ns);
  if (what == Line::kNeverCompleted) {
    s += ", :error ";
    edn_string(s, "not completed when the run ended");
  } else if (what == Line::kComplete && e.error.size != 0) {
    s += ", :error ";
    edn_string(s, h.text(e.error));
  }
  s += '}';
  return s;
}

}  // namespace

void write_history_edn(const KvHistory& h, const LineSink& line) {
  for (size_t k = 0; k < h.event_count(); ++k) {
    const KvHistory::Event ev = h.event(k);
    line(edn_line(h, h.entries()[ev.entry], ev.completion ? Line::kComplete : Line::kInvoke));
  }
  for (const KvHistory::Entry& e : h.entries())
    if (!e.completed()) line(edn_line(h, e, Line::kNeverCompleted));
}

HistoryFormat history_format_of(const std::string& path) {
  const std::string ext = ".edn";
  const bool edn = path.size() >= ext.size() && path.compare(path.size() - ext.size(), ext.size(), ext) == 0;
  return edn ? HistoryFormat::kEdn : HistoryFormat::kJsonLines;
}

}  // namespace sim
