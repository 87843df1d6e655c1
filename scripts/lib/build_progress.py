"""Shows a ninja build's progress without its wall of compiler lines: reads ninja's output (run
with NINJA_STATUS='[%f/%t] '), keeps one line updated on a terminal or prints a line at every
10% otherwise, and passes everything else (warnings, errors, FAILED) through unchanged.
    NINJA_STATUS='[%f/%t] ' ninja ... 2>&1 | python3 scripts/lib/build_progress.py LABEL"""
import re
import sys
import time

STATUS = re.compile(r'^\[(\d+)/(\d+)\] (.*)$')


def main():
    label = sys.argv[1] if len(sys.argv) > 1 else 'build'
    tty = sys.stdout.isatty()
    start, shown, done, total = time.time(), -1, 0, 0
    regenerating = False  # meson's own report while ninja re-runs it: not news
    for line in sys.stdin:
        line = line.rstrip('\n')
        m = STATUS.match(line)
        if not m:
            if line.startswith('ninja: Entering directory') or line == 'ninja: no work to do.':
                continue
            if regenerating and 'ERROR' not in line:
                continue
            if tty:
                sys.stdout.write('\n')
            print(line, flush=True)
            continue
        done, total = int(m.group(1)), int(m.group(2))
        regenerating = m.group(3).startswith('Regenerating build files')
        what = m.group(3).split(' ')[-1]
        pct = 100 * done // total
        if tty:
            sys.stdout.write(f'\r\033[K  {label}: {done}/{total} ({pct}%) '
                             f'{time.time() - start:.0f} s  {what[-50:]}')
            sys.stdout.flush()
        elif pct // 10 != shown // 10 or done == total:
            shown = pct
            print(f'  {label}: {done}/{total} ({pct}%) {time.time() - start:.0f} s', flush=True)
    if tty and total:
        sys.stdout.write('\n')
    print(f'  {label}: {"up to date" if not total else f"{total} steps"} in '
          f'{time.time() - start:.0f} s', flush=True)


if __name__ == '__main__':
    main()
