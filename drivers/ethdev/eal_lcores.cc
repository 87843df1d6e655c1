#include "drivers/ethdev/eal_lcores.h"

#include <sched.h>

#include <cstdint>
#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace portcullis::drivers::ethdev {

namespace {

// Adds the numbers of "a", "a-b" or a comma list of those to out.
bool AddList(absl::string_view s, std::set<unsigned>& out) {
  if (s.empty()) return false;
  for (absl::string_view part : absl::StrSplit(s, ',')) {
    std::pair<absl::string_view, absl::string_view> r =
        absl::StrSplit(part, absl::MaxSplits('-', 1));
    unsigned lo = 0, hi = 0;
    if (!absl::SimpleAtoi(r.first, &lo)) return false;
    hi = lo;
    if (!r.second.empty() && !absl::SimpleAtoi(r.second, &hi)) return false;
    if (hi < lo || hi - lo > 1024) return false;
    for (unsigned i = lo; i <= hi; ++i) out.insert(i);
  }
  return true;
}

// The lcore side of each element of a --lcores map: "L", "L@C", "(L-L)@(C,C)", "(L,L)".
bool AddMap(absl::string_view s, std::set<unsigned>& out) {
  size_t i = 0;
  while (i < s.size()) {
    absl::string_view lcores;
    if (s[i] == '(') {
      size_t close = s.find(')', i);
      if (close == absl::string_view::npos) return false;
      lcores = s.substr(i + 1, close - i - 1);
      i = close + 1;
    } else {
      size_t end = s.find_first_of(",@", i);
      if (end == absl::string_view::npos) end = s.size();
      lcores = s.substr(i, end - i);
      i = end;
    }
    if (!AddList(lcores, out)) return false;
    if (i < s.size() && s[i] == '@') {  // skip the CPU set
      ++i;
      if (i < s.size() && s[i] == '(') {
        size_t close = s.find(')', i);
        if (close == absl::string_view::npos) return false;
        i = close + 1;
      } else {
        while (i < s.size() && s[i] != ',') ++i;
      }
    }
    if (i < s.size()) {
      if (s[i] != ',') return false;
      ++i;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<unsigned> CountEalLcores(const std::vector<std::string>& eal) {
  for (size_t k = 0; k < eal.size(); ++k) {
    const std::string& a = eal[k];
    auto value = [&](const std::string& opt) -> std::string {
      if (a.size() > opt.size() && a.compare(0, opt.size(), opt) == 0)
        return a.substr(a[opt.size()] == '=' ? opt.size() + 1 : opt.size());
      return k + 1 < eal.size() ? eal[k + 1] : "";
    };
    std::set<unsigned> ids;
    if (a == "-l" || (a.rfind("-l", 0) == 0 && a.rfind("--", 0) != 0)) {
      std::string v = value("-l");
      if (!AddList(v, ids)) return absl::InvalidArgumentError(absl::StrCat("bad -l '", v, "'"));
      return static_cast<unsigned>(ids.size());
    }
    if (a.rfind("--lcores", 0) == 0) {
      std::string v = value("--lcores");
      if (!AddMap(v, ids))
        return absl::InvalidArgumentError(absl::StrCat("bad --lcores '", v, "'"));
      return static_cast<unsigned>(ids.size());
    }
    if (a == "-c" || (a.rfind("-c", 0) == 0 && a.rfind("--", 0) != 0)) {
      std::string v = value("-c");
      uint64_t mask = 0;
      absl::string_view hex = v;
      if (hex.rfind("0x", 0) == 0 || hex.rfind("0X", 0) == 0) hex.remove_prefix(2);
      if (!absl::SimpleHexAtoi(hex, &mask) || mask == 0)
        return absl::InvalidArgumentError(absl::StrCat("bad -c '", v, "'"));
      return static_cast<unsigned>(__builtin_popcountll(mask));
    }
  }
  return 0u;
}

std::string LcoreMapForWorkers(unsigned workers, const std::vector<int>& cpus) {
  std::string map;
  for (unsigned l = 0; l <= workers; ++l) {
    // Workers go on their own CPUs first; the main lcore (mostly idle) on the CPU after the
    // last worker's: a free one if there is one, else (wrapping) the first worker's.
    int cpu = cpus.empty() ? 0 : cpus[(l == 0 ? workers : l - 1) % cpus.size()];
    absl::StrAppend(&map, l ? "," : "", l, "@", cpu);
  }
  return map;
}

std::vector<int> AllowedCpus() {
  std::vector<int> cpus;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0)
    for (int c = 0; c < CPU_SETSIZE; ++c)
      if (CPU_ISSET(c, &set)) cpus.push_back(c);
  if (cpus.empty()) cpus.push_back(0);
  return cpus;
}

}  // namespace portcullis::drivers::ethdev
