"""scripts/pktgen: the Pktgen-DPDK 23.06 profiles and the static west setup they run against.

Pktgen-DPDK is not a Debian package, so it does not run here (docs/PKTGEN.md). What is checked:
- every profile compiles with Debian's luac (lua5.4);
- run under Debian's lua5.4 with a table standing in for pktgen's Lua API that records the
  calls, each profile configures what configs/vyatta-west.conf says: the LAN host, the gateway,
  the tunnel's remote prefix or the clear default route, the frame sizes (IMIX 7:4:1), and it
  prints and writes its result line;
- scripts/pktgen/west-static.dpctl matches that configuration too, the real vpn-dataplane takes
  it, and the frames the profiles describe go through it as they should: into the tunnel as ESP
  to the east peer with the static SA, raw in the clear to the gateway.
"""
import ipaddress
import pathlib
import re
import shutil
import subprocess
import time

import pytest
from scapy.all import IP, UDP, Ether, Raw, rdpcap, wrpcap
from scapy.layers.ipsec import ESP

ROOT = pathlib.Path(__file__).resolve().parents[2]
PKTGEN = ROOT / 'scripts' / 'pktgen'
PROFILES = sorted(p.name for p in PKTGEN.glob('*-*.lua'))
WEST = ROOT / 'configs' / 'vyatta-west.conf'


def lua_tool(name):
    for v in ('5.4', '5.3'):
        if shutil.which(f'{name}{v}'):
            return f'{name}{v}'
    pytest.skip(f'needs {name}5.4 or {name}5.3 (apt-get install lua5.4)')


def west_config():
    """What the profiles must agree with, read from the demo's west configuration."""
    text = WEST.read_text()

    def one(pattern):
        m = re.search(pattern, text, re.M)
        assert m, pattern
        return m.group(1)
    return {
        'lan': ipaddress.ip_interface(one(r"^set interfaces bonding dp0bond0 address (\S+)")),
        'wan': ipaddress.ip_interface(one(r"^set interfaces bonding dp0bond1 address (\S+)")),
        'gateway': ipaddress.ip_address(
            one(r"^set protocols static route 0\.0\.0\.0/0 next-hop (\S+)")),
        'remote': ipaddress.ip_network(
            one(r"^set protocols static interface-route (\S+) next-hop-interface vti2")),
        'vti': ipaddress.ip_interface(one(r"^set interfaces vti vti2 address (\S+)")),
        'peer': ipaddress.ip_address(
            one(r"^set security vpn ipsec site-to-site peer (\S+) vti bind vti2")),
        'local': ipaddress.ip_address(
            one(r"^set security vpn ipsec site-to-site peer \S+ local-address (\S+)")),
        'esp': one(r"^set security vpn ipsec esp-group ESP-Fergie proposal 1 encryption (\S+)"),
    }


# pktgen's Lua API as far as the profiles use it: each call is printed as one line
# "CALL name arg|arg|..." (a table argument as key=value,...); portStats answers numbers.
STUB = r'''
local function show(v)
  if type(v) ~= "table" then return tostring(v) end
  local keys = {}
  for k in pairs(v) do keys[#keys + 1] = k end
  table.sort(keys)
  local out = {}
  for _, k in ipairs(keys) do out[#out + 1] = k .. "=" .. tostring(v[k]) end
  return table.concat(out, ",")
end
local function rec(name)
  return function(...)
    local args = {}
    for i = 1, select("#", ...) do args[#args + 1] = show(select(i, ...)) end
    print("CALL " .. name .. " " .. table.concat(args, "|"))
  end
end
pktgen = setmetatable({}, { __index = function(t, name)
  local f = rec(name)
  rawset(t, name, f)
  return f
end })
function pktgen.portStats(p, what)
  rec("portStats")(p, what)
  local n = tonumber(p)
  if what == "rate" then
    return { [n] = { pkts_tx = 1500000, pkts_rx = 1400000, mbits_rx = 900, mbits_tx = 1000 } }
  end
  return { [n] = { opackets = 15000000, ipackets = 14000000 } }
end
'''


def run_profile(tmp_path, name, env=None):
    stub = tmp_path / 'stub.lua'
    stub.write_text(STUB)
    results = tmp_path / 'results.csv'
    r = subprocess.run([lua_tool('lua'), '-e', f'dofile("{stub}")', str(PKTGEN / name)],
                       capture_output=True, text=True, timeout=30,
                       env={'PATH': '/usr/bin:/bin', 'PKTGEN_SECONDS': '3',
                            'PKTGEN_RESULTS': str(results), **(env or {})})
    assert r.returncode == 0, r.stdout + r.stderr
    calls = []
    for line in r.stdout.splitlines():
        if line.startswith('CALL '):
            name_, _, args = line[5:].partition(' ')
            calls.append((name_, args.split('|') if args else []))
    return calls, r.stdout, results.read_text() if results.exists() else ''



def test_every_profile_compiles_with_luac():
    assert len(PROFILES) == 6, PROFILES  # {tunnel,raw} x {64,1420,imix}
    luac = lua_tool('luac')
    for f in ['portcullis.lua', *PROFILES]:
        r = subprocess.run([luac, '-p', str(PKTGEN / f)], capture_output=True, text=True)
        assert r.returncode == 0, f'{f}: {r.stderr}'
    # And luac does reject a broken one (the check can fail).
    r = subprocess.run([luac, '-p', '-'], input='portcullis.run("tunnel", 64', text=True,
                       capture_output=True)
    assert r.returncode != 0


@pytest.mark.parametrize('profile', PROFILES)
def test_profile_addresses_and_sizes_follow_the_west_config(tmp_path, profile):
    cfg = west_config()
    mode, size = profile[:-4].split('-')
    calls, out, csv = run_profile(tmp_path, profile,
                                  {'PORTCULLIS_LAN_MAC': '02:70:63:61:70:00'})
    ips = {(a[0], a[1]): a[2] for n, a in calls if n == 'set_ipaddr'}
    # Port 0 is a host on the LAN of dp0bond0; port 1 the WAN gateway, facing dp0bond1.
    host = ipaddress.ip_interface(ips[('0', 'src')])
    assert host.network == cfg['lan'].network and host.ip != cfg['lan'].ip, host
    gw = ipaddress.ip_interface(ips[('1', 'src')])
    assert gw.ip == cfg['gateway'] and gw.network == cfg['wan'].network, gw
    assert ipaddress.ip_address(ips[('1', 'dst')]) == cfg['wan'].ip
    dst = ipaddress.ip_address(ips[('0', 'dst')])
    if mode == 'tunnel':
        assert dst in cfg['remote'], dst  # routed into vti2
    else:
        assert dst not in cfg['remote'] and dst not in cfg['lan'].network
        assert dst not in cfg['wan'].network  # taken by the default route, in the clear
    assert ('set_mac', ['0', 'dst', '02:70:63:61:70:00']) in calls
    assert ('set_proto', ['0', 'udp']) in calls
    sets = {(a[0], a[1]): a[2] for n, a in calls if n == 'set'}
    seq = [dict(kv.split('=') for kv in a[2].split(',')) for n, a in calls if n == 'seqTable']
    if size == 'imix':
        sizes = [int(s['pktSize']) - 4 for s in seq]  # pktgen sizes count the 4-byte CRC
        assert sorted(sizes) == [64] * 7 + [570] * 4 + [1420], sizes
        assert sets[('0', 'seq_cnt')] == '12'
        for s in seq:
            assert s['ip_src_addr'] == ips[('0', 'src')] and s['ip_dst_addr'] == str(dst)
            assert s['eth_dst_addr'] == '02:70:63:61:70:00' and s['ipProto'] == 'udp'
    else:
        assert not seq and sets[('0', 'seq_cnt')] == '0'
        assert int(sets[('0', 'size')]) == int(size) + 4
    # Started on port 0, stopped, and quit; the result line printed and appended as CSV.
    names = [n for n, _ in calls]
    last_stop = len(names) - 1 - names[::-1].index('stop')
    assert ('start', ['0']) in calls and names.index('start') < last_stop < names.index('quit')
    assert names.index('start') > max(i for i, n in enumerate(names) if n in ('set', 'seqTable'))
    assert f'portcullis-pktgen: {mode}-{size}: tx 1.50 Mpps, rx 1.40 Mpps' in out, out
    assert csv == f'{mode}-{size},3,1500000,1400000,900,15000000,14000000\n', csv


def static_batch():
    return (PKTGEN / 'west-static.dpctl').read_text()


def test_static_batch_matches_the_west_config():
    cfg = west_config()
    text = static_batch()
    assert f'address add dp0bond0 {cfg["lan"]}' in text
    assert f'address add dp0bond1 {cfg["wan"]}' in text
    assert f'address add vti2 {cfg["vti"]}' in text
    assert f'route add {cfg["remote"]} dev vti2' in text
    assert f'route add 0.0.0.0/0 via {cfg["gateway"]}' in text
    sas = re.findall(r'^sa add spi (\S+) dir (in|out) local (\S+) remote (\S+) cipher (\S+)',
                     text, re.M)
    assert {d for _, d, *_ in sas} == {'in', 'out'}
    for _, _, local, remote, cipher in sas:
        assert (local, remote) == (str(cfg['local']), str(cfg['peer']))
        assert cfg['esp'] == 'aes128gcm128' and cipher == 'aes-gcm-128'


def profile_frames(tmp_path, profile, lan_mac, count):
    """The frames a profile makes pktgen send, built from its recorded calls with scapy."""
    calls, _, _ = run_profile(tmp_path, profile, {'PORTCULLIS_LAN_MAC': lan_mac})
    ips = {(a[0], a[1]): a[2] for n, a in calls if n == 'set_ipaddr'}
    sets = {(a[0], a[1]): a[2] for n, a in calls if n == 'set'}
    seq = [dict(kv.split('=') for kv in a[2].split(',')) for n, a in calls if n == 'seqTable']
    sizes = [int(s['pktSize']) for s in seq] or [int(sets[('0', 'size')])]
    src = ips[('0', 'src')].split('/')[0]
    frames = []
    for i in range(count):
        frame = sizes[i % len(sizes)] - 4  # without the CRC
        head = Ether(dst=lan_mac, src='02:00:00:00:00:01') / IP(src=src, dst=ips[('0', 'dst')]) / \
            UDP(sport=int(sets[('0', 'sport')]), dport=int(sets[('0', 'dport')]))
        frames.append(head / Raw(b'\x00' * (frame - len(head))))
    return frames


@pytest.mark.parametrize('profile', ['tunnel-imix.lua', 'raw-64.lua'])
def test_profile_traffic_through_the_real_dataplane(lab, tmp_path, profile):
    """west-static.dpctl on vpn-dataplane with pcap ports named as the config's bonds; the
    profile's frames in on dp0bond0; ESP (tunnel) or the same packets (raw) out on dp0bond1."""
    cfg = west_config()
    frames = profile_frames(tmp_path, profile, '02:70:63:61:70:00', 24)
    lan_in, wan_in, wan_out = (str(tmp_path / n) for n in ('lan_in.pcap', 'wan_in.pcap',
                                                           'wan_out.pcap'))
    wrpcap(lan_in, frames)
    wrpcap(wan_in, [])
    dp = lab.dataplane(None, {
        'dp0bond0': f'net_pcap0,rx_pcap={lan_in}',
        'dp0bond1': f'net_pcap1,rx_pcap={wan_in},tx_pcap={wan_out}'})
    # pktgen's port 1 answers ARP for the gateway; here the neighbour is static.
    dp.batch(static_batch() + f'\nneigh add dp0bond1 {cfg["gateway"]} 02:00:00:00:00:02\n')
    deadline = time.time() + 30
    while time.time() < deadline:
        if dp.show_json('ports')['dp0bond1']['opackets'] >= len(frames):
            break
        time.sleep(0.2)
    drops = {k: v for k, v in dp.drops().items() if v}
    dp.stop()
    out = rdpcap(wan_out)
    assert len(out) == len(frames), (len(out), drops)
    assert all(p[Ether].dst == '02:00:00:00:00:02' for p in out)
    if profile.startswith('tunnel'):
        assert all(p.haslayer(ESP) for p in out)
        assert {(p[IP].src, p[IP].dst) for p in out} == {(str(cfg['local']), str(cfg['peer']))}
        assert {p[ESP].spi for p in out} == {0xc0001001}
        # IMIX: the three sizes come out as three ESP lengths.
        assert len({len(p) for p in out}) == 3
    else:
        assert not any(p.haslayer(ESP) for p in out)
        assert [bytes(p[UDP]) for p in out] == [bytes(f[UDP]) for f in frames]
