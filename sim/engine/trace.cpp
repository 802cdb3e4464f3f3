#include "sim/engine/trace.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <stdexcept>

namespace sim {

TraceLine::TraceLine(int64_t t, std::string_view ev) {
  s_.reserve(128);
  s_ = "{\"t\":" + std::to_string(t);
  str("ev", ev);
}

void TraceLine::key_(std::string_view key) {
  s_ += ",\"";
  s_ += key;
  s_ += "\":";
}

TraceLine& TraceLine::str(std::string_view key, std::string_view value) {
  key_(key);
  s_ += '"';
  for (const char c : value) {
    if (c == '"' || c == '\\') {
      s_ += '\\';
      s_ += c;
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
      s_ += buf;
    } else {
      s_ += c;
    }
  }
  s_ += '"';
  return *this;
}

TraceLine& TraceLine::port(core::Port p) {
  if (p != core::Port::kHost) str("port", core::port_name(p));
  return *this;
}

const std::string& TraceLine::done() {
  s_ += '}';
  return s_;
}

std::string hex16(uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

TraceWriter::TraceWriter(std::string path, std::string what)
    : path_(std::move(path)), partial_(path_ + ".partial"), what_(std::move(what)) {
  file_ = std::fopen(partial_.c_str(), "wb");
  if (!file_) throw std::runtime_error("cannot open " + what_ + " file '" + partial_ + "': " + std::strerror(errno));
}

TraceWriter::~TraceWriter() {
  if (file_) std::fclose(file_);
  if (!committed_) std::remove(partial_.c_str());
}

void TraceWriter::line(const std::string& json_object) {
  std::fwrite(json_object.data(), 1, json_object.size(), file_);
  std::fputc('\n', file_);
}

void TraceWriter::commit() {
  const bool ok = std::fflush(file_) == 0 && !std::ferror(file_);
  std::fclose(file_);
  file_ = nullptr;
  if (!ok) throw std::runtime_error("writing " + what_ + " file '" + partial_ + "' failed");
  if (std::rename(partial_.c_str(), path_.c_str()) != 0)
    throw std::runtime_error("cannot rename '" + partial_ + "' to '" + path_ + "': " + std::strerror(errno));
  committed_ = true;
}

TraceDiff diff_traces(const std::string& path_a, const std::string& path_b) {
  std::ifstream a(path_a), b(path_b);
  if (!a) throw std::runtime_error("cannot read trace '" + path_a + "'");
  if (!b) throw std::runtime_error("cannot read trace '" + path_b + "'");
  TraceDiff d;
  std::string la, lb;
  for (uint64_t n = 1;; ++n) {
    const bool ga = static_cast<bool>(std::getline(a, la));
    const bool gb = static_cast<bool>(std::getline(b, lb));
    if (!ga && !gb) return d;
    if (ga != gb || la != lb) {
      d.line = n;
      d.left = ga ? la : "<end of trace>";
      d.right = gb ? lb : "<end of trace>";
      return d;
    }
  }
}

}  // namespace sim
