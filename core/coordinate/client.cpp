#include "core/coordinate/client.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <iterator>

#include "core/check.hpp"

namespace core::coordinate {

const char* status_message(Status s) {
  switch (s) {
    case Status::kOk:
      return "ok";
    case Status::kDimensionalityConflict:
      return "dimensions aren't compatible";
    case Status::kInvalidCoordinate:
      return "coordinate is invalid";
    case Status::kRttOutOfRange:
      return "round trip time not in valid range";
  }
  return "unknown status";
}

// --- LatencyFilter ---

LatencyFilter::LatencyFilter(uint32_t size) : size_(size) {
  CORE_CHECK(size >= 1 && size <= Config::kMaxLatencyFilterSize, "latency filter size out of range");
}

double LatencyFilter::observe(NodeId peer, double rtt_seconds) {
  const auto found = index_.find(peer);
  size_t slot = found == index_.end() ? peers_.size() : found->second;
  if (found == index_.end()) {
    if (peers_.size() == peers_.capacity()) {
      // Grow by a quarter, not the library's doubling: a member of a large
      // cluster keeps one entry per peer, and the slack is paid per client.
      const size_t n = peers_.size() + peers_.size() / 4 + 8;
      peers_.reserve(n);
      counts_.reserve(n);
      samples_.reserve(n * size_);
    }
    index_.emplace(peer, static_cast<uint32_t>(slot));
    peers_.push_back(peer);
    counts_.push_back(0);
    samples_.insert(samples_.end(), size_, 0.0);
  }
  double* s = samples_.data() + slot * size_;
  uint8_t& count = counts_[slot];
  if (count == size_) {
    // Full: the oldest (front) sample goes. Sizes are tiny (3 by default),
    // so shifting beats keeping a ring head per peer.
    std::copy(s + 1, s + size_, s);
    s[size_ - 1] = rtt_seconds;
  } else {
    s[count++] = rtt_seconds;
  }

  std::array<double, Config::kMaxLatencyFilterSize> sorted;
  std::copy(s, s + count, sorted.begin());
  std::sort(sorted.begin(), sorted.begin() + count);
  return sorted[count / 2];
}

void LatencyFilter::forget(NodeId peer) {
  const auto it = index_.find(peer);
  if (it == index_.end()) return;
  const size_t slot = it->second, last = peers_.size() - 1;
  index_.erase(it);
  if (slot != last) {
    // The last peer moves into the freed slot.
    peers_[slot] = peers_[last];
    counts_[slot] = counts_[last];
    std::copy(samples_.begin() + static_cast<std::ptrdiff_t>(last * size_),
              samples_.begin() + static_cast<std::ptrdiff_t>((last + 1) * size_),
              samples_.begin() + static_cast<std::ptrdiff_t>(slot * size_));
    index_[peers_[slot]] = static_cast<uint32_t>(slot);
  }
  peers_.pop_back();
  counts_.pop_back();
  samples_.resize(last * size_);
}

size_t LatencyFilter::heap_bytes() const {
  return peers_.capacity() * sizeof(NodeId) + counts_.capacity() * sizeof(uint8_t) +
         samples_.capacity() * sizeof(double) + index_.size() * (sizeof(NodeId) + sizeof(uint32_t) + 16) +
         index_.bucket_count() * sizeof(void*);
}

// --- Client ---

namespace {
const Config& checked(const Config& config) {
  CORE_CHECK(config.validate().empty(), "invalid coordinate config: " + config.validate());
  return config;
}
}  // namespace

Client::Client(const Config& config)
    : config_(checked(config)),
      coord_(config_),
      adjustment_samples_(config_.adjustment_window_size, 0.0),
      filter_(config_.latency_filter_size) {}

size_t Client::memory_bytes() const {
  return sizeof(Client) + adjustment_samples_.capacity() * sizeof(double) + filter_.heap_bytes();
}

Status Client::check(const Coordinate& coord) const {
  if (!coord_.is_compatible_with(coord)) return Status::kDimensionalityConflict;
  if (!coord.is_valid()) return Status::kInvalidCoordinate;
  return Status::kOk;
}

Status Client::set_coordinate(const Coordinate& coord) {
  const Status s = check(coord);
  if (s == Status::kOk) coord_ = coord;
  return s;
}

Status Client::update(NodeId node, const Coordinate& other, Duration rtt, core::Rng& rng) {
  if (const Status s = check(other); s != Status::kOk) return s;
  if (rtt < 0 || rtt > kMaxRtt) return Status::kRttOutOfRange;
  if (rtt == 0) ++stats_.zero_rtts;

  const double rtt_seconds = filter_.observe(node, seconds_of(rtt));
  update_vivaldi(other, rtt_seconds, rng);
  update_adjustment(other, rtt_seconds);
  update_gravity(rng);
  if (!coord_.is_valid()) {
    ++stats_.resets;
    coord_ = Coordinate(config_);
  }
  return Status::kOk;
}

void Client::update_vivaldi(const Coordinate& other, double rtt_seconds, core::Rng& rng) {
  // The estimate goes through a Duration (whole nanoseconds) as in serf, so
  // that both compute from the same number.
  const double dist = seconds_of(coord_.distance_to(other));
  // A zero RTT would divide by zero below; only this step sees the floor
  // (the adjustment gets the filtered RTT as it is, as in serf).
  const double rtt = rtt_seconds < kZeroThreshold ? kZeroThreshold : rtt_seconds;
  const double wrongness = std::fabs(dist - rtt) / rtt;

  double total_error = coord_.error + other.error;
  if (total_error < kZeroThreshold) total_error = kZeroThreshold;
  // A node trusts an observation more the surer the other node is relative
  // to itself.
  const double weight = coord_.error / total_error;

  const double ce_weight = config_.vivaldi_ce * weight;
  coord_.error = ce_weight * wrongness + coord_.error * (1.0 - ce_weight);
  if (coord_.error > config_.vivaldi_error_max) coord_.error = config_.vivaldi_error_max;

  const double delta = config_.vivaldi_cc * weight;
  const double force = delta * (rtt - dist);
  coord_ = coord_.apply_force(config_, force, other, rng);
}

void Client::update_adjustment(const Coordinate& other, double rtt_seconds) {
  if (config_.adjustment_window_size == 0) return;
  // The raw distance: the adjustment must not feed back into itself.
  const double dist = coord_.raw_distance_to(other);
  adjustment_samples_[adjustment_index_] = rtt_seconds - dist;
  adjustment_index_ = (adjustment_index_ + 1) % config_.adjustment_window_size;

  double sum = 0.0;
  for (const double sample : adjustment_samples_) sum += sample;
  coord_.adjustment = sum / (2.0 * static_cast<double>(config_.adjustment_window_size));
}

void Client::update_gravity(core::Rng& rng) {
  // serf keeps an origin coordinate per client; one on the stack costs
  // nothing here and keeps the client smaller.
  const Coordinate origin(config_);
  const double dist = seconds_of(origin.distance_to(coord_));
  const double x = dist / config_.gravity_rho;
  // serf: -math.Pow(x, 2); x * x is the same correctly rounded square.
  const double force = -(x * x);
  coord_ = coord_.apply_force(config_, force, origin, rng);
}

}  // namespace core::coordinate
