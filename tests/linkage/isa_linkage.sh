#!/bin/bash
# The instruction-set files (*_avx2.cc, *_avx512.cc, *_avx512bf16.cc, *_amx.cc: cmake/isa_sources.cmake)
# are compiled with -mavx2 / -mavx512* / -mamx-*. Any inline function or template with external linkage that one of them
# emits (a weak symbol: a header's inline helper, a std::vector member) may be the copy the linker keeps
# for the WHOLE program, baseline callers included; if that copy holds AVX instructions, a CPU without
# them dies with SIGILL outside any dispatch. This check fails when a weak symbol of those objects has
# VEX / EVEX instructions or ymm / zmm / mask registers. The cure: internal linkage for the helper (an
# anonymous namespace, as kernels/simd_helpers.h) or no out-of-line copy.
# Usage: isa_linkage.sh LIBRARY.a (ctest: the engine library; tests/CMakeLists.txt)
set -u
lib=$(readlink -f "$1")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
bad=0
checked=0
members=0
for member in $(ar t "$lib" | grep -E '_(avx2|avx512|avx512bf16|amx)\.cc\.o$' | sort -u); do
  members=$((members + 1))
  (cd "$tmp" && ar x "$lib" "$member") || { echo "cannot extract $member"; exit 1; }
  for sym in $(nm "$tmp/$member" | awk '$2 == "W" {print $3}'); do
    checked=$((checked + 1))
    if objdump -d --no-show-raw-insn --disassemble="$sym" "$tmp/$member" |
        grep -qE $'\tv[a-z0-9]+ |%[yz]mm|%k[0-7]'; then
      echo "FAIL: $member emits $(echo "$sym" | c++filt) with AVX instructions as a weak (shared) symbol"
      bad=1
    fi
  done
done
echo "instruction-set objects: $members, their weak symbols checked: $checked"
[ "$members" -gt 0 ] || { echo "FAIL: no *_avx2 / *_avx512 / *_amx object in $lib"; exit 1; }
exit $bad
