#include "control/vpnd/op_handlers.h"

#include "absl/strings/str_cat.h"
#include "control/vpnd/show_gather.h"
#include "control/vpnd/show_json.h"
#include "control/vpnd/show_text.h"

namespace portcullis::vpnd {

namespace {

using ops::OpArgs;
using ops::OpId;

// A `show vpn` view: its rows gathered once, then rendered as text or JSON. A peer named in
// the command must be configured.
template <class Rows>
absl::StatusOr<std::string> View(OpContext& ctx, const OpArgs& a,
                                 Rows (*gather)(const ike::IkeManager&, const SaInstaller&,
                                                const ShowPeers&, const ShowFilter&, absl::Time),
                                 std::string (*text)(const Rows&),
                                 std::string (*json)(const Rows&)) {
  if (!a.peer.empty() && ctx.ike.FindPeer(a.peer) == nullptr) {
    return absl::NotFoundError(absl::StrCat("peer ", a.peer, " is not configured"));
  }
  ShowFilter f{a.peer, a.tunnel, a.vti};
  Rows rows = gather(ctx.ike, ctx.installer, ctx.peers, f, ctx.now);
  return a.json ? json(rows) : text(rows);
}

absl::StatusOr<std::string> ShowIkeSa(OpContext& ctx, const OpArgs& a) {
  return View(ctx, a, GatherIkeSas, IkeSaText, IkeSaJson);
}

absl::StatusOr<std::string> ShowIpsecSa(OpContext& ctx, const OpArgs& a) {
  return View(ctx, a, GatherTunnels, IpsecSaText, IpsecSaJson);
}

absl::StatusOr<std::string> ShowIpsecSaDetail(OpContext& ctx, const OpArgs& a) {
  return View(ctx, a, GatherIpsecSaDetail, IpsecSaDetailText, IpsecSaDetailJson);
}

absl::StatusOr<std::string> ShowIpsecSaStatistics(OpContext& ctx, const OpArgs& a) {
  return View(ctx, a, GatherTunnels, IpsecSaStatisticsText, IpsecSaStatisticsJson);
}

absl::StatusOr<std::string> ShowDebug(OpContext& ctx, const OpArgs& a) {
  return View(ctx, a, GatherDebug, DebugText, DebugJson);
}

// The log lines of one peer's connection ("<peer-192.0.2.2"), even one no longer configured.
absl::StatusOr<std::string> ShowLogIpsec(OpContext& ctx, const OpArgs& a) {
  std::string filter;
  if (!a.peer.empty()) {
    const ike::IkeSaConfig* c = ctx.ike.FindPeer(a.peer);
    filter = "<" + (c ? c->name : "peer-" + a.peer);
  }
  return ctx.log.Recent(filter);
}

absl::StatusOr<std::string> ResetIpsecPeer(OpContext& ctx, const OpArgs& a) {
  // A VTI has no tunnel number: `tunnel vti` resets the peer, as no tunnel does.
  absl::Status st = ctx.ike.Reset(a.peer, a.tunnel);
  if (!st.ok()) return st;
  return absl::StrCat("Resetting ", a.tunnel ? absl::StrCat("tunnel ", *a.tunnel, " of ") : "",
                      "peer ", a.peer, "\n");
}

// The file's warnings follow, one a line, as `vpnctl check` prints them.
absl::StatusOr<std::string> Load(OpContext& ctx, const OpArgs& a) {
  std::vector<std::string> warnings;
  absl::Status st = ctx.load(a.file, &warnings);
  if (!st.ok()) return st;
  std::string out = absl::StrCat("Loaded ", a.file, "\n");
  for (const std::string& w : warnings) absl::StrAppend(&out, w, "\n");
  return out;
}

absl::StatusOr<std::string> ShowSystemCommit(OpContext& ctx, const OpArgs&) {
  if (!ctx.commits) return absl::UnavailableError("this vpnd keeps no configuration archive");
  return ctx.commits();
}

struct Binding {
  OpId id;
  absl::StatusOr<std::string> (*handler)(OpContext&, const OpArgs&);
};

constexpr Binding kHandlers[] = {
    {OpId::kShowIkeSa, ShowIkeSa},
    {OpId::kShowIpsecSa, ShowIpsecSa},
    {OpId::kShowIpsecSaDetail, ShowIpsecSaDetail},
    {OpId::kShowIpsecSaStatistics, ShowIpsecSaStatistics},
    {OpId::kShowDebug, ShowDebug},
    {OpId::kShowLogIpsec, ShowLogIpsec},
    {OpId::kResetIpsecPeer, ResetIpsecPeer},
    {OpId::kLoad, Load},
    {OpId::kShowSystemCommit, ShowSystemCommit},
};
static_assert(ops::CoversEveryOpOnce(kHandlers),
              "every operational command (control/ops/op_commands.h) needs one handler here");

}  // namespace

absl::StatusOr<std::string> RunOpCommand(OpContext& ctx, const ops::OpRequest& request) {
  for (const Binding& b : kHandlers) {
    if (b.id == request.id) return b.handler(ctx, request.args);
  }
  return absl::InternalError("no handler");  // unreachable: the static_assert above
}

}  // namespace portcullis::vpnd
