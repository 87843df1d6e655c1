#include "dataplane/api/json_value.h"

#include <cstdlib>

#include "absl/strings/str_cat.h"

namespace portcullis::dp::api {

const JsonValue* JsonValue::Get(absl::string_view key) const {
  for (const auto& [k, v] : object)
    if (k == key) return &v;
  return nullptr;
}

uint64_t JsonValue::U64(absl::string_view key) const {
  const JsonValue* v = Get(key);
  return v && v->type == Type::kNumber ? static_cast<uint64_t>(v->number) : 0;
}

std::string JsonValue::Str(absl::string_view key) const {
  const JsonValue* v = Get(key);
  return v && v->type == Type::kString ? v->string : "";
}

namespace {

class Parser {
 public:
  explicit Parser(absl::string_view t) : t_(t) {}

  absl::StatusOr<JsonValue> Document() {
    JsonValue v;
    if (!Value(&v, 0)) return absl::InvalidArgumentError(absl::StrCat("bad JSON at ", i_));
    Skip();
    if (i_ != t_.size()) return absl::InvalidArgumentError("trailing bytes after JSON");
    return v;
  }

 private:
  void Skip() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\n' || t_[i_] == '\r' || t_[i_] == '\t'))
      ++i_;
  }
  bool Lit(absl::string_view s) {
    if (t_.substr(i_, s.size()) != s) return false;
    i_ += s.size();
    return true;
  }
  bool String(std::string* out) {
    if (i_ >= t_.size() || t_[i_] != '"') return false;
    ++i_;
    while (i_ < t_.size() && t_[i_] != '"') {
      char c = t_[i_++];
      if (c == '\\') {
        if (i_ >= t_.size()) return false;
        char e = t_[i_++];
        switch (e) {
          case 'n':
            c = '\n';
            break;
          case 't':
            c = '\t';
            break;
          case 'r':
            c = '\r';
            break;
          case 'b':
            c = '\b';
            break;
          case 'f':
            c = '\f';
            break;
          case 'u':
            if (i_ + 4 > t_.size()) return false;
            c = static_cast<char>(std::strtol(std::string(t_.substr(i_, 4)).c_str(), nullptr, 16));
            i_ += 4;
            break;
          default:
            c = e;
        }
      }
      out->push_back(c);
    }
    if (i_ >= t_.size()) return false;
    ++i_;
    return true;
  }
  bool Value(JsonValue* v, int depth) {
    if (depth > 32) return false;
    Skip();
    if (i_ >= t_.size()) return false;
    char c = t_[i_];
    if (c == '{') {
      v->type = JsonValue::Type::kObject;
      ++i_;
      Skip();
      if (i_ < t_.size() && t_[i_] == '}') return ++i_, true;
      while (true) {
        Skip();
        std::string k;
        if (!String(&k)) return false;
        Skip();
        if (i_ >= t_.size() || t_[i_++] != ':') return false;
        JsonValue child;
        if (!Value(&child, depth + 1)) return false;
        v->object.push_back({std::move(k), std::move(child)});
        Skip();
        if (i_ < t_.size() && t_[i_] == ',') {
          ++i_;
          continue;
        }
        return i_ < t_.size() && t_[i_++] == '}';
      }
    }
    if (c == '[') {
      v->type = JsonValue::Type::kArray;
      ++i_;
      Skip();
      if (i_ < t_.size() && t_[i_] == ']') return ++i_, true;
      while (true) {
        JsonValue child;
        if (!Value(&child, depth + 1)) return false;
        v->array.push_back(std::move(child));
        Skip();
        if (i_ < t_.size() && t_[i_] == ',') {
          ++i_;
          continue;
        }
        return i_ < t_.size() && t_[i_++] == ']';
      }
    }
    if (c == '"') {
      v->type = JsonValue::Type::kString;
      return String(&v->string);
    }
    if (Lit("true")) return v->type = JsonValue::Type::kBool, v->boolean = true, true;
    if (Lit("false")) return v->type = JsonValue::Type::kBool, true;
    if (Lit("null")) return true;
    size_t start = i_;
    while (i_ < t_.size() && (std::isdigit(static_cast<unsigned char>(t_[i_])) || t_[i_] == '-' ||
                              t_[i_] == '+' || t_[i_] == '.' || t_[i_] == 'e' || t_[i_] == 'E'))
      ++i_;
    if (start == i_) return false;
    v->type = JsonValue::Type::kNumber;
    v->number = std::strtod(std::string(t_.substr(start, i_ - start)).c_str(), nullptr);
    return true;
  }

  absl::string_view t_;
  size_t i_ = 0;
};

}  // namespace

absl::StatusOr<JsonValue> ParseJson(absl::string_view text) {
  return Parser(text).Document();
}

}  // namespace portcullis::dp::api
