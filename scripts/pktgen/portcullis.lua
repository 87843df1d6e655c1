-- Pktgen-DPDK 23.06 profiles for Portcullis: the shared part. Each profile file sets a mode
-- (tunnel or raw) and a frame size (64, 1420 or IMIX) and calls portcullis.run(). See
-- docs/PKTGEN.md for the two-host and same-host setups and how to run them headless.
--
-- The addresses are those of the west appliance of the demo (configs/vyatta-west.conf):
--   pktgen port 0 -> dp0bond0 (LAN, 10.165.125.113/28), as the LAN host 10.165.125.120
--   pktgen port 1 <- dp0bond1 (WAN, 169.50.194.197/29), as the WAN gateway 169.50.194.193
-- tunnel: to the east LAN (10.127.132.128/26), routed into vti2: ESP to 159.8.98.213 leaves
--         the WAN for the gateway, i.e. pktgen port 1.
-- raw:    to 198.18.0.1 (RFC 2544's benchmark range), routed by the default route in the clear:
--         the same path without the crypto, the appliance's forwarding bound.
-- Frame sizes are Ethernet frames without the FCS, as `scripts/bench` counts them; pktgen's
-- "size" includes the 4-byte CRC, so 4 is added here.
--
-- Environment: PKTGEN_SECONDS (run time, default 10), PORTCULLIS_LAN_MAC (the appliance's LAN
-- port MAC, the frames' destination; `dpctl show ports`), PKTGEN_SRC_MAC (the source MAC of
-- IMIX frames, default 02:00:00:00:00:01), PKTGEN_RESULTS (a CSV file that gets one line per
-- run), PKTGEN_RATE (percent of line rate, default 100).

portcullis = {}

portcullis.LAN_HOST = "10.165.125.120/28"   -- a host on dp0bond0's 10.165.125.112/28
portcullis.LAN_ADDRESS = "10.165.125.113"   -- dp0bond0 (the LAN hosts' gateway)
portcullis.WAN_GATEWAY = "169.50.194.193/29" -- `protocols static route 0.0.0.0/0 next-hop`
portcullis.WAN_ADDRESS = "169.50.194.197"   -- dp0bond1, the tunnel's local-address
portcullis.PEER = "159.8.98.213"            -- the east appliance: outer destination of the ESP
portcullis.TUNNEL_DST = "10.127.132.130"    -- a host on the east LAN 10.127.132.128/26 (vti2)
portcullis.RAW_DST = "198.18.0.1"           -- no tunnel: the default route, in the clear
portcullis.IMIX = { { 64, 7 }, { 570, 4 }, { 1420, 1 } } -- frame bytes, weight (scripts/bench)
portcullis.SPORT, portcullis.DPORT = 1024, 5001

local TX, RX = "0", "1"

local function env(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

-- The frame sizes of one profile, in sending order: one size, or the IMIX pattern as pktgen's
-- sequence packets (7 x 64, 4 x 570, 1 x 1420 = 12 of its 16 slots).
function portcullis.frames(size)
  if size ~= "imix" then return { size } end
  local out = {}
  for _, e in ipairs(portcullis.IMIX) do
    for _ = 1, e[2] do out[#out + 1] = e[1] end
  end
  return out
end

function portcullis.destination(mode)
  if mode == "tunnel" then return portcullis.TUNNEL_DST end
  if mode == "raw" then return portcullis.RAW_DST end
  error("mode must be tunnel or raw, not " .. tostring(mode))
end

local function setup(mode, size)
  local dst = portcullis.destination(mode)
  local lan_mac = env("PORTCULLIS_LAN_MAC", nil)
  pktgen.stop("all")
  pktgen.clr()
  -- Port 1 stands for the WAN gateway: pktgen answers the appliance's ARP for its address,
  -- so the appliance sends it everything it routes out of the WAN.
  pktgen.set_ipaddr(RX, "src", portcullis.WAN_GATEWAY)
  pktgen.set_ipaddr(RX, "dst", portcullis.WAN_ADDRESS)
  pktgen.set_proto(TX, "udp")
  pktgen.set_ipaddr(TX, "src", portcullis.LAN_HOST)
  pktgen.set_ipaddr(TX, "dst", dst)
  pktgen.set(TX, "sport", portcullis.SPORT)
  pktgen.set(TX, "dport", portcullis.DPORT)
  if lan_mac then pktgen.set_mac(TX, "dst", lan_mac) end
  pktgen.set(TX, "rate", tonumber(env("PKTGEN_RATE", "100")))
  pktgen.set(TX, "count", 0)
  local frames = portcullis.frames(size)
  if #frames == 1 then
    pktgen.set(TX, "seq_cnt", 0)
    pktgen.set(TX, "size", frames[1] + 4)
    return
  end
  for i, bytes in ipairs(frames) do
    pktgen.seqTable(i - 1, TX, {
      eth_dst_addr = lan_mac or "ff:ff:ff:ff:ff:ff",
      eth_src_addr = env("PKTGEN_SRC_MAC", "02:00:00:00:00:01"),
      ip_dst_addr = dst,
      ip_src_addr = portcullis.LAN_HOST,
      sport = portcullis.SPORT,
      dport = portcullis.DPORT,
      ethType = "ipv4",
      ipProto = "udp",
      vlanid = 1,
      pktSize = bytes + 4,
    })
  end
  pktgen.set(TX, "seq_cnt", #frames)
end

-- Runs one profile: mode "tunnel" or "raw", size 64, 1420 or "imix". Prints one result line and
-- appends it to $PKTGEN_RESULTS as CSV (profile,seconds,tx_pps,rx_pps,rx_mbits,tx_pkts,rx_pkts).
function portcullis.run(mode, size, quit)
  local name = mode .. "-" .. tostring(size)
  local seconds = tonumber(env("PKTGEN_SECONDS", "10"))
  setup(mode, size)
  pktgen.delay(1000)
  pktgen.start(TX)
  pktgen.sleep(2) -- warm-up: ARP, caches
  pktgen.clr()
  local best_tx, best_rx, best_mbits = 0, 0, 0
  for _ = 1, seconds do
    pktgen.sleep(1)
    local tx = pktgen.portStats(TX, "rate")[tonumber(TX)]
    local rx = pktgen.portStats(RX, "rate")[tonumber(RX)]
    if tx.pkts_tx > best_tx then best_tx = tx.pkts_tx end
    if rx.pkts_rx > best_rx then best_rx = rx.pkts_rx end
    if rx.mbits_rx > best_mbits then best_mbits = rx.mbits_rx end
  end
  pktgen.stop(TX)
  pktgen.delay(500)
  local sent = pktgen.portStats(TX, "port")[tonumber(TX)].opackets
  local got = pktgen.portStats(RX, "port")[tonumber(RX)].ipackets
  local line = string.format("%s,%d,%d,%d,%d,%d,%d", name, seconds, best_tx, best_rx, best_mbits,
    sent, got)
  print(string.format("portcullis-pktgen: %s: tx %.2f Mpps, rx %.2f Mpps (%d Mbit/s), sent %d, "
    .. "received %d", name, best_tx / 1e6, best_rx / 1e6, best_mbits, sent, got))
  local path = env("PKTGEN_RESULTS", nil)
  if path then
    local f = assert(io.open(path, "a"))
    f:write(line, "\n")
    f:close()
  end
  if quit ~= false then pktgen.quit() end
  return line
end

return portcullis
