# Instruction-set specific sources. A kernel file named *_avx2.cc is compiled for AVX2+FMA+F16C,
# *_avx512.cc for AVX-512 (F/BW/DQ/VL/VNNI), *_avx512bf16.cc for that plus AVX512_BF16, *_amx.cc for
# AVX-512 plus AMX-TILE / AMX-INT8;
# everything else for the baseline x86-64. The code in those files runs only after the run-time
# CPUID check in kernels/cpu_features.h (kernels/amx_q8_0.h for AMX) chose it.
set(ISV_AVX2_FLAGS -mavx2 -mfma -mf16c)
set(ISV_AVX512_FLAGS -mavx2 -mfma -mf16c -mavx512f -mavx512bw -mavx512dq -mavx512vl -mavx512vnni)
set(ISV_AVX512BF16_FLAGS ${ISV_AVX512_FLAGS} -mavx512bf16)
set(ISV_AMX_FLAGS ${ISV_AVX512_FLAGS} -mamx-tile -mamx-int8)

function(isv_set_isa_flags sources)
  foreach(src ${sources})
    if(src MATCHES "_avx2\\.cc$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${ISV_AVX2_FLAGS}")
    elseif(src MATCHES "_avx512\\.cc$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${ISV_AVX512_FLAGS}")
    elseif(src MATCHES "_avx512bf16\\.cc$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${ISV_AVX512BF16_FLAGS}")
    elseif(src MATCHES "_amx\\.cc$")
      set_source_files_properties(${src} PROPERTIES COMPILE_OPTIONS "${ISV_AMX_FLAGS}")
    endif()
  endforeach()
endfunction()
