#include "core/agent/user_events.hpp"

#include "core/check.hpp"

namespace core::agent {

std::string user_event_name(std::string_view name) {
  std::string out(kUserEventPrefix);
  out.append(name);
  return out;
}

bool is_user_event(std::string_view serf_name) { return serf_name.starts_with(kUserEventPrefix); }

std::string_view raw_user_event_name(std::string_view serf_name) {
  if (is_user_event(serf_name)) serf_name.remove_prefix(kUserEventPrefix.size());
  return serf_name;
}

std::optional<UserEventError> validate_user_event(const UserEvent& ev) {
  if (ev.name.empty()) return UserEventError::kMissingName;
  if (!ev.tag_filter.empty() && ev.service_filter.empty()) return UserEventError::kTagWithoutService;
  return std::nullopt;
}

bool filter_matches(std::string_view filter, std::string_view value) {
  if (filter.starts_with('^')) filter.remove_prefix(1);
  if (filter.ends_with('$')) {
    filter.remove_suffix(1);
    return value == filter;
  }
  return value.starts_with(filter);
}

bool should_process_user_event(const UserEvent& ev, std::string_view node_name,
                               const std::map<std::string, ServiceState>& services) {
  // A version above kUserEventMaxVersion only draws a warning in Consul.
  if (!ev.node_filter.empty() && !filter_matches(ev.node_filter, node_name)) return false;
  if (ev.service_filter.empty()) return true;
  for (const auto& [id, st] : services) {
    if (st.deleted || !st.has_record) continue;  // State.Services omits them
    if (!filter_matches(ev.service_filter, id)) continue;
    if (ev.tag_filter.empty()) return true;
    for (const std::string& tag : st.service.tags)
      if (filter_matches(ev.tag_filter, tag)) return true;
  }
  return false;
}

bool UserEventRing::handle(const UserEvent& ev, std::string_view node_name,
                           const std::map<std::string, ServiceState>& services) {
  if (!should_process_user_event(ev, node_name, services)) return false;
  return ingest(ev);
}

bool UserEventRing::ingest(const UserEvent& ev) {
  if (ev.name == kRemoteExecName) return false;
  if (!buf_[index_].has_value()) ++count_;
  buf_[index_] = ev;
  index_ = (index_ + 1) % kEventBufferSize;
  ++notifies_;
  CORE_CHECK(count_ <= kEventBufferSize, "user events: the ring holds at most 256");
  return true;
}

std::vector<UserEvent> UserEventRing::events() const {
  std::vector<UserEvent> out;
  out.reserve(count_);
  // Full: the oldest is at index_; not yet full: slots [0, index_).
  const size_t start = buf_[index_].has_value() ? index_ : 0;
  for (size_t i = 0; i < count_; ++i) {
    const auto& slot = buf_[(start + i) % kEventBufferSize];
    CORE_CHECK(slot.has_value(), "user events: held slots are contiguous");
    out.push_back(*slot);
  }
  return out;
}

const UserEvent* UserEventRing::last() const {
  const size_t idx = (index_ + kEventBufferSize - 1) % kEventBufferSize;
  return buf_[idx].has_value() ? &*buf_[idx] : nullptr;
}

}  // namespace core::agent
