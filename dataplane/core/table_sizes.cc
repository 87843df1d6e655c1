#include "dataplane/core/table_sizes.h"

#include <cstddef>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "dataplane/core/limits.h"

namespace portcullis::dp {

namespace {

struct SizeOption {
  const char* name;
  uint32_t TableSizes::*field;
  uint32_t min, max;
  const char* help;
};

// The ranges accepted; the sizes actually loaded in tests (command_applier_scale_test.cc,
// fib_test.cc) and measured by scripts/bench scale are docs/DESIGN.md's "tested" column.
// Interfaces stop at 65,535 because the packet metadata carries a 16-bit ifindex.
constexpr SizeOption kOptions[] = {
    {"--max-interfaces", &TableSizes::interfaces, 16, 65535,
     "interfaces (ports, VIFs, VTIs; ifindex below N)"},
    {"--max-sas", &TableSizes::sas, 64, 1048576, "SAs, both directions"},
    {"--max-routes", &TableSizes::routes, 16, 2097152, "static IPv4 route prefixes"},
    {"--max-next-hops", &TableSizes::next_hops, 64, 1048576,
     "distinct next hops (default 2 per interface + 4096)"},
    {"--max-neighbors", &TableSizes::neighbors, 64, 4194304, "ARP entries (static: half)"},
    {"--max-policies", &TableSizes::policies, 16, 65536, "SPD entries per direction"},
    {"--fib-tbl8-groups", &TableSizes::fib_tbl8, 256, 262144,
     "FIB groups for prefixes longer than /24 (default routes/64, at least 4096)"},
    {"--max-routes6", &TableSizes::routes6, 16, 1048576, "static IPv6 route prefixes"},
};

const SizeOption* Find(absl::string_view name) {
  for (const SizeOption& o : kOptions)
    if (name == o.name) return &o;
  return nullptr;
}

}  // namespace

uint32_t TableSizes::FibRoutes() const {
  return routes + 2 * kMaxAddressesPerInterface * interfaces;
}

uint32_t TableSizes::Fib6Routes() const {
  return routes6 + 2 * kMaxAddressesPerInterface * interfaces;
}

bool IsTableSizeOption(absl::string_view name) {
  return Find(name) != nullptr;
}

absl::Status SetTableSize(TableSizes& sizes, absl::string_view name, absl::string_view value) {
  const SizeOption* o = Find(name);
  if (o == nullptr) return absl::InvalidArgumentError(absl::StrCat("unknown option ", name));
  uint64_t v = 0;
  if (!absl::SimpleAtoi(value, &v) || v < o->min || v > o->max)
    return absl::InvalidArgumentError(absl::StrFormat("%s must be a number from %d to %d, not '%s'",
                                                      name, o->min, o->max, value));
  sizes.*(o->field) = static_cast<uint32_t>(v);
  return absl::OkStatus();
}

absl::Status CheckTableSizes(const TableSizes& s) {
  for (const SizeOption& o : kOptions) {
    const uint32_t v = s.*(o.field);
    // next hops and tbl8 groups: 0 picks the default.
    if ((v == 0 && (o.field == &TableSizes::next_hops || o.field == &TableSizes::fib_tbl8)))
      continue;
    if (v < o.min || v > o.max)
      return absl::InvalidArgumentError(
          absl::StrFormat("%s must be from %d to %d, not %d", o.name, o.min, o.max, v));
  }
  // Every interface needs its local and connected next hops.
  if (s.NextHops() < 2 * s.interfaces)
    return absl::InvalidArgumentError(
        absl::StrFormat("--max-next-hops %d is less than 2 per interface (--max-interfaces %d)",
                        s.NextHops(), s.interfaces));
  if (s.NextHops() > 1048576 || s.FibTbl8() > 262144)
    return absl::InvalidArgumentError(
        absl::StrFormat("%d interfaces or %d routes need more next hops or FIB groups than the "
                        "dataplane can hold: give --max-next-hops and --fib-tbl8-groups",
                        s.interfaces, s.routes));
  return absl::OkStatus();
}

std::string TableSizesHelp() {
  std::string out;
  const TableSizes d;
  for (const SizeOption& o : kOptions) {
    const uint32_t v = d.*(o.field);
    absl::StrAppendFormat(&out, "  %-18s N  %s: %d..%d%s\n", o.name, o.help, o.min, o.max,
                          v ? absl::StrCat(", default ", v) : "");
  }
  return out;
}

}  // namespace portcullis::dp
