"""The built vpn-dataplane still asks for a packet's key lines (docs/DESIGN.md, ESP: many
tunnels in one burst).

A prefetch has no effect a unit test can observe, and session 7 found that none had ever been
emitted: a `requires` GCC 12 did not see satisfied compiled the call to nothing, unnoticed.
EncryptEach now asks for EspEngine::kKeyLines lines per packet in a loop unrolled to that many
prefetches; this disassembles the IPsec-MB instance and fails when fewer are left.
"""
import os
import re
import subprocess

BINARY = os.environ['PC_DATAPLANE']
KEY_LINES = 7  # EspEngine::kKeyLines (dataplane/esp/esp_engine.h)
SYMBOL = ('portcullis::dp::esp::EspEngine<portcullis::drivers::crypto::IpsecMbBackend>'
          '::EncryptEach(')


def function_text(binary, symbol):
    syms = subprocess.run(['nm', '-C', '--defined-only', binary], capture_output=True,
                          text=True, check=True).stdout
    found = [line.split()[0] for line in syms.splitlines() if symbol in line]
    assert len(found) == 1, f'{symbol} in {binary}: {found}'
    start = int(found[0], 16)
    # Up to the next symbol: objdump stops at the function's end with --stop-address beyond it
    # only if told; take a generous window and cut at the next function's label.
    out = subprocess.run(['objdump', '-d', '--no-show-raw-insn', '-C',
                          f'--start-address={start:#x}', f'--stop-address={start + 8192:#x}',
                          binary], capture_output=True, text=True, check=True).stdout
    labels = [m.start() for m in re.finditer(r'^[0-9a-f]+ <.*>:$', out, re.M)]
    assert labels, out[:500]
    end = labels[1] if len(labels) > 1 else len(out)
    return out[labels[0]:end]


def test_encrypt_each_prefetches_every_key_line():
    text = function_text(BINARY, SYMBOL)
    prefetches = re.findall(r'\sprefetcht0\s', text)
    assert len(prefetches) >= KEY_LINES, text
