// vpn-dataplane: the DPDK primary process. Owns the ports, runs one worker per extra lcore and
// the control work on the main lcore, and serves vpnd and dpctl over the shared-memory channel.
//
//   vpn-dataplane [EAL args] -- --channel NAME --port NAME=DEVICE [--port ...]
//                 [--ports-file FILE] [--idle-sleep-us N] [--mbufs N] [--fw-sessions N]
//                 [--fw-sessions6 N]
//                 [--max-interfaces N] [--max-sas N] [--max-routes N] [--max-next-hops N]
//                 [--max-neighbors N] [--max-policies N] [--fib-tbl8-groups N] [--max-routes6 N]
//                 [--max-batch-messages N]
//
// The --max-* options size the tables once, at start (dataplane/core/table_sizes.h); a batch
// that would go beyond one fails naming it.
//
// --ports-file reads more NAME=DEVICE lines from a file (drivers/ethdev/ports_file.h): what
// vpn-dataplane.service passes (/etc/portcullis/ports). Under systemd (Type=notify) it reports
// READY=1 once the ports run and the channel exists.
//
// DEVICE is a PCI address or a DPDK virtual device with its arguments
// ("net_af_packet0,iface=veth1", "net_pcap0,rx_pcap=in.pcap,tx_pcap=out.pcap"). Only physical
// ports: bonds come from the configuration (a net_bonding DEVICE is refused). The EAL
// arguments get --vdev/-a for the port map, --no-pci when no PCI device is named, and a
// --file-prefix of portcullis-NAME unless given.
#include <rte_cpuflags.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_rcu_qsbr.h>
#include <rte_vect.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "dataplane/api/channel_server.h"
#include "dataplane/core/packet_meta.h"
#include "dataplane/core/table_sizes.h"
#include "dataplane/esp/esp_event.h"
#include "dataplane/mgmt/capture_telemetry.h"
#include "dataplane/mgmt/main_lcore.h"
#include "dataplane/mgmt/service_notify.h"
#include "dataplane/mgmt/telemetry.h"
#include "dataplane/pipeline/worker.h"
#include "dataplane/runtime/dataplane.h"
#include "drivers/ethdev/eal_lcores.h"
#include "drivers/ethdev/eal_runtime.h"
#include "drivers/ethdev/port_setup.h"
#include "drivers/ethdev/ports_file.h"

using namespace portcullis;
using namespace portcullis::dp;

namespace {

Dataplane* g_dp = nullptr;

void OnSignal(int) {
  if (g_dp) g_dp->stop.store(true);
}

struct Options {
  std::string channel;
  std::vector<drivers::ethdev::PortSpec> ports;
  uint32_t idle_sleep_us = 0;
  uint32_t mbufs = 16383;
  uint32_t fw_sessions = 65536;
  uint32_t fw_sessions6 = 0;  // 0: a quarter of fw_sessions
  uint32_t max_batch_messages = api::kDefaultMaxBatchMessages;
  uint32_t workers = 0;  // 0: from the EAL lcore list (default -l 0,1: one worker)
  TableSizes sizes;
};

[[noreturn]] void Die(const std::string& msg) {
  std::fprintf(stderr, "vpn-dataplane: %s\n", msg.c_str());
  std::exit(1);
}

Options ParseOptions(const std::vector<std::string>& args) {
  Options o;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    auto value = [&](const char* name) -> std::string {
      std::string prefix = std::string(name) + "=";
      if (a.rfind(prefix, 0) == 0) return a.substr(prefix.size());
      if (i + 1 >= args.size()) Die(absl::StrCat(name, " needs a value"));
      return args[++i];
    };
    auto is = [&](const char* name) {
      return a == name || a.rfind(std::string(name) + "=", 0) == 0;
    };
    if (is("--channel")) {
      o.channel = value("--channel");
    } else if (is("--port")) {
      auto p = drivers::ethdev::ParsePortSpec(value("--port"));
      if (!p.ok()) Die(std::string(p.status().message()));
      o.ports.push_back(*p);
    } else if (is("--ports-file")) {
      auto ps = drivers::ethdev::ReadPortsFile(value("--ports-file"));
      if (!ps.ok()) Die(std::string(ps.status().message()));
      o.ports.insert(o.ports.end(), ps->begin(), ps->end());
    } else if (is("--idle-sleep-us")) {
      if (!absl::SimpleAtoi(value("--idle-sleep-us"), &o.idle_sleep_us)) Die("bad --idle-sleep-us");
    } else if (is("--workers")) {
      if (!absl::SimpleAtoi(value("--workers"), &o.workers) || o.workers == 0 ||
          o.workers > kMaxWorkers)
        Die(absl::StrCat("--workers must be 1..", kMaxWorkers));
    } else if (is("--mbufs")) {
      if (!absl::SimpleAtoi(value("--mbufs"), &o.mbufs)) Die("bad --mbufs");
    } else if (is("--fw-sessions")) {
      if (!absl::SimpleAtoi(value("--fw-sessions"), &o.fw_sessions) || o.fw_sessions < 64 ||
          o.fw_sessions > (1u << 24))
        Die("--fw-sessions must be 64..16777216");
    } else if (is("--fw-sessions6")) {
      if (!absl::SimpleAtoi(value("--fw-sessions6"), &o.fw_sessions6) || o.fw_sessions6 < 64 ||
          o.fw_sessions6 > (1u << 24))
        Die("--fw-sessions6 must be 64..16777216");
    } else if (is("--max-batch-messages")) {
      if (!absl::SimpleAtoi(value("--max-batch-messages"), &o.max_batch_messages) ||
          o.max_batch_messages == 0 || o.max_batch_messages > api::kMaxBatchMessagesLimit)
        Die(absl::StrCat("--max-batch-messages must be 1..", api::kMaxBatchMessagesLimit));
    } else if (IsTableSizeOption(a.substr(0, a.find('=')))) {
      const std::string name = a.substr(0, a.find('='));
      if (auto s = SetTableSize(o.sizes, name, value(name.c_str())); !s.ok())
        Die(std::string(s.message()));
    } else if (a == "-h" || a == "--help") {
      std::printf(
          "vpn-dataplane [EAL args] -- --channel NAME --port NAME=DEVICE [--port ...]\n"
          "              [--ports-file FILE] [--workers N] [--idle-sleep-us N] [--mbufs N]\n"
          "              [--fw-sessions N] [--fw-sessions6 N] [--max-interfaces N] [--max-sas N]\n"
          "              [--max-routes N]\n"
          "              [--max-next-hops N] [--max-neighbors N] [--max-policies N]\n"
          "              [--fib-tbl8-groups N] [--max-batch-messages N]\n"
          "  --ports-file FILE  NAME=DEVICE lines (# comments), as /etc/portcullis/ports\n"
          "  --workers N   N worker lcores spread over the allowed CPUs (instead of EAL -l)\n"
          "  --fw-sessions N  the firewall session table's capacity (default 65536)\n"
          "  --fw-sessions6 N  the IPv6 session table's (default a quarter of --fw-sessions)\n"
          "  --max-batch-messages N  the largest command batch (one commit) vpnd or dpctl may\n"
          "                send, and the staging all clients together may hold beyond 4096\n"
          "                messages each: 256 bytes a message (default 262144 = 64 MiB)\n"
          "Table sizes, fixed at start (a batch beyond one fails naming it):\n%s",
          TableSizesHelp().c_str());
      std::exit(0);
    } else {
      Die(absl::StrCat("unknown option '", a, "'"));
    }
  }
  if (auto s = CheckTableSizes(o.sizes); !s.ok()) Die(std::string(s.message()));
  if (o.channel.empty()) Die("--channel NAME is required");
  if (o.ports.empty())
    Die("at least one --port NAME=DEVICE (or a --ports-file naming one) is required");
  return o;
}

bool HasArg(const std::vector<std::string>& eal, const char* prefix) {
  for (const auto& a : eal)
    if (a.rfind(prefix, 0) == 0) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> eal = {argv[0]}, app;
  bool in_app = false;
  for (int i = 1; i < argc; ++i) {
    if (!in_app && std::strcmp(argv[i], "--") == 0) {
      in_app = true;
      continue;
    }
    (in_app ? app : eal).push_back(argv[i]);
  }
  Options opt = ParseOptions(app);
  const bool lcores_given = HasArg(eal, "-l") || HasArg(eal, "--lcores") || HasArg(eal, "-c");
  if (opt.workers && lcores_given) Die("--workers and an EAL lcore list (-l/--lcores/-c) conflict");
  if (opt.workers) {
    eal.push_back("--lcores");
    eal.push_back(drivers::ethdev::LcoreMapForWorkers(opt.workers, drivers::ethdev::AllowedCpus()));
  } else if (!lcores_given) {
    eal.push_back("-l");
    eal.push_back("0,1");
  }
  if (!HasArg(eal, "--file-prefix")) eal.push_back("--file-prefix=portcullis-" + opt.channel);
  bool any_pci = false;
  for (const auto& p : opt.ports) any_pci |= !p.is_vdev();
  if (!any_pci && !HasArg(eal, "--no-pci") && !HasArg(eal, "-a")) eal.push_back("--no-pci");
  // Workers are known only after the EAL parsed the lcore list, but af_packet needs their
  // number for its queue pairs when its vdev argument is built.
  auto lcores = drivers::ethdev::CountEalLcores(eal);
  if (!lcores.ok()) Die(std::string(lcores.status().message()));
  const unsigned requested_workers = *lcores > 1 ? *lcores - 1 : 1;
  for (const auto& a : drivers::ethdev::EalArgsForPorts(opt.ports, requested_workers))
    eal.push_back(a);

  std::vector<char*> eal_argv;
  for (auto& a : eal) eal_argv.push_back(a.data());
  if (rte_eal_init(static_cast<int>(eal_argv.size()), eal_argv.data()) < 0)
    Die(absl::StrCat("EAL init failed (", rte_strerror(rte_errno),
                     "); another vpn-dataplane with this channel or file prefix running?"));

  // DPDK keeps to 256-bit code unless told; the FIB's AVX-512 bulk lookup (chosen when the FIB
  // is created) is worth having where the CPU has it, and IPsec-MB runs AVX-512 there anyway.
  // Drivers with AVX-512 burst functions (i40e, ice, iavf) pick them up too. An operator who
  // wants none of it passes --force-max-simd-bitwidth=256: the call then fails, changing nothing.
  if (rte_cpu_get_flag_enabled(RTE_CPUFLAG_AVX512F) > 0)
    (void)rte_vect_set_max_simd_bitwidth(RTE_VECT_SIMD_512);

  const uint32_t nworkers = rte_lcore_count() - 1;
  if (nworkers == 0) Die("no worker lcore: give the EAL at least two lcores (-l 0,1)");
  DataplaneParams params;
  params.workers = nworkers;
  params.mbufs = opt.mbufs;
  params.idle_sleep_us = opt.idle_sleep_us;
  params.fw_sessions = opt.fw_sessions;
  params.fw_sessions6 = opt.fw_sessions6;
  params.sizes = opt.sizes;
  auto created = CreateDataplane(params);
  if (!created.ok()) Die(std::string(created.status().message()));
  Dataplane& dp = **created;
  g_dp = &dp;

  std::printf("vpn-dataplane: channel %s, %u worker%s\n", opt.channel.c_str(), dp.nworkers,
              dp.nworkers == 1 ? "" : "s");
  // Every port starts as a plain port; bonds are built from the configuration at commit
  // (mgmt/bond_sync.h), which takes their members over.
  std::vector<uint16_t> started;
  for (const drivers::ethdev::PortSpec& spec : opt.ports) {
    auto st = drivers::ethdev::StartPort(spec, static_cast<uint16_t>(dp.nworkers), dp.pool);
    if (!st.ok()) Die(std::string(st.status().message()));
    if (st->port_id >= kMaxPorts) Die("DPDK port id beyond the supported range");
    PortInfo& pi = dp.ports[st->port_id];
    pi.present = true;
    pi.name = spec.name;
    pi.device = spec.device();
    pi.nrxq = pi.ntxq = st->queues;
    pi.mac = st->mac;
    started.push_back(st->port_id);
    char mac[RTE_ETHER_ADDR_FMT_SIZE];
    rte_ether_format_addr(mac, sizeof mac, &pi.mac);
    std::printf("  port %s = %s (port %u, %s)\n", spec.name.c_str(), spec.devargs.c_str(),
                st->port_id, mac);
  }

  api::ServerOptions server_options;
  server_options.max_batch_messages = opt.max_batch_messages;
  auto server = api::ChannelServer::Create(opt.channel, server_options);
  if (!server.ok()) Die(std::string(server.status().message()));
  MainLcore main_lcore(dp, std::move(*server));
  RegisterTelemetry(dp, main_lcore);
  RegisterCaptureTelemetry(main_lcore);

  std::vector<std::unique_ptr<Worker>> workers;
  try {
    for (uint32_t w = 0; w < dp.nworkers; ++w)
      workers.push_back(std::make_unique<Worker>(dp, static_cast<uint16_t>(w)));
  } catch (const std::bad_alloc&) {
    // Each worker's counter blocks (one per interface slot) and its firewall verdict caches.
    Die(absl::StrCat("no memory for the workers' counters (", dp.sizes.interfaces,
                     " interface slots from --max-interfaces, about 430 bytes each per worker) "
                     "and firewall verdict caches (8.5 MB per worker): lower --max-interfaces "
                     "or give the EAL more memory (-m, hugepages)"));
  }
  uint32_t w = 0;
  unsigned lcore;
  RTE_LCORE_FOREACH_WORKER(lcore) {
    Worker* worker = workers[w++].get();
    rte_eal_remote_launch([](void* arg) { return static_cast<Worker*>(arg)->Run(); }, worker,
                          lcore);
  }
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
  std::printf("vpn-dataplane: ready\n");
  std::fflush(stdout);
  if (auto s = NotifyServiceManager("READY=1"); !s.ok())
    std::fprintf(stderr, "vpn-dataplane: %s\n", std::string(s.message()).c_str());

  main_lcore.Run();

  (void)NotifyServiceManager("STOPPING=1");
  rte_eal_mp_wait_lcore();
  main_lcore.StopBonds();  // before their members: a bond stops (and releases) its members
  for (uint16_t p : started) drivers::ethdev::StopPort(p);
  main_lcore.~MainLcore();  // unlinks the channel before the EAL goes
  drivers::ethdev::CleanEalRuntimeDir();
  std::printf("vpn-dataplane: stopped\n");
  std::fflush(stdout);
  std::_Exit(0);  // everything is released; skip destructors that would run twice
  return 0;
}
