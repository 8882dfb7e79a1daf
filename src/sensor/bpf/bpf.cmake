# The sensor's kernel programs (docs/sensor.md): sensor.bpf.c compiled with clang -target bpf
# against a vmlinux.h that bpftool dumps from this machine's kernel BTF, then embedded in
# moat_sensor as a libbpf skeleton (bpftool gen skeleton). CO-RE relocations make the object run
# on other kernels with BTF. Without clang, bpftool, libbpf or kernel BTF the build warns and
# moat is built without the kernel side (`moat sensor` then says so).
find_program(MOAT_BPF_CLANG NAMES clang clang-16 clang-15 clang-14)
find_program(MOAT_BPFTOOL bpftool PATHS /usr/sbin /sbin)
pkg_check_modules(LIBBPF IMPORTED_TARGET libbpf)
set(MOAT_VMLINUX_BTF /sys/kernel/btf/vmlinux CACHE FILEPATH "kernel BTF that vmlinux.h is dumped from")
if(MOAT_BPF_CLANG AND MOAT_BPFTOOL AND LIBBPF_FOUND AND EXISTS ${MOAT_VMLINUX_BTF})
  set(bpf_dir ${CMAKE_SOURCE_DIR}/src/sensor/bpf)
  set(gen_dir ${CMAKE_BINARY_DIR}/generated/sensor)
  file(MAKE_DIRECTORY ${gen_dir})
  if(CMAKE_SYSTEM_PROCESSOR MATCHES "x86_64|AMD64")
    set(bpf_arch x86)
  else()
    message(WARNING "the sensor's system call table is x86_64 only; ${CMAKE_SYSTEM_PROCESSOR} "
                    "builds the programs but their syscall events will be wrong")
    set(bpf_arch ${CMAKE_SYSTEM_PROCESSOR})
  endif()
  add_custom_command(OUTPUT ${gen_dir}/vmlinux.h
    COMMAND ${MOAT_BPFTOOL} btf dump file ${MOAT_VMLINUX_BTF} format c > ${gen_dir}/vmlinux.h
    COMMENT "sensor: vmlinux.h from ${MOAT_VMLINUX_BTF}" VERBATIM)
  add_custom_command(OUTPUT ${gen_dir}/sensor.bpf.o
    COMMAND ${MOAT_BPF_CLANG} -g -O2 -target bpf -D__TARGET_ARCH_${bpf_arch} -Wall
            -I${gen_dir} -I${bpf_dir} -c ${bpf_dir}/sensor.bpf.c -o ${gen_dir}/sensor.bpf.o
    DEPENDS ${bpf_dir}/sensor.bpf.c ${bpf_dir}/event_abi.h ${gen_dir}/vmlinux.h
    COMMENT "sensor: clang -target bpf sensor.bpf.c" VERBATIM)
  add_custom_command(OUTPUT ${gen_dir}/sensor.skel.h
    COMMAND ${MOAT_BPFTOOL} gen skeleton ${gen_dir}/sensor.bpf.o name moat_sensor > ${gen_dir}/sensor.skel.h
    DEPENDS ${gen_dir}/sensor.bpf.o
    COMMENT "sensor: bpftool gen skeleton" VERBATIM)
  add_custom_target(moat_sensor_bpf DEPENDS ${gen_dir}/sensor.skel.h)
  add_dependencies(moat_sensor moat_sensor_bpf)
  target_include_directories(moat_sensor PRIVATE ${gen_dir})
  target_compile_definitions(moat_sensor PRIVATE MOAT_SENSOR_BPF=1)
  target_link_libraries(moat_sensor PUBLIC PkgConfig::LIBBPF)
else()
  message(WARNING "clang, bpftool, libbpf-dev or ${MOAT_VMLINUX_BTF} missing: moat is built "
                  "WITHOUT the sensor's kernel side (`moat sensor` says so). Install them with "
                  "scripts/install-deps.sh build.")
endif()
