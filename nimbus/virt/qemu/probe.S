# The accelerator probe (nimbus/virt/qemu/accel.py embeds its bytes; tests/unit/test_qemu_disks.py
# checks they match): from real mode to 64-bit long mode, a jump to the upper-half address
# where Linux kernels run, a spin of 10^8 iterations, then the byte 0x31 to the isa-debug-exit
# port. Build: as --32 probe.S -o probe.o && objcopy -O binary -j .text probe.o probe.bin
.code16
.globl _start
_start:
  cli
  xor %ax,%ax
  mov %ax,%ds
  mov %ax,%es
  mov $0x1000,%edi
  mov $0xc00,%ecx
  xor %eax,%eax
  cld
  addr32 rep stosl
  movl $0x2003,0x1000
  movl $0x3003,0x2000
  movl $0x83,0x3000
  movl $0x2003,0x1ff8
  movl $0x3003,0x2ff0
  movl $0x83,0x3040
  mov %cr4,%eax
  or $0x20,%eax
  mov %eax,%cr4
  mov $0x1000,%eax
  mov %eax,%cr3
  mov $0xc0000080,%ecx
  rdmsr
  or $0x100,%eax
  wrmsr
  lgdtl gdtr - _start + 0x7c00
  mov %cr0,%eax
  or $0x80000001,%eax
  mov %eax,%cr0
  ljmpl $0x08, $(lm - _start + 0x7c00)
.code64
lm:
  movabs $(0xffffffff81000000 + hi - _start + 0x7c00),%rax
  jmp *%rax
hi:
  mov $100000000,%ecx
1:
  dec %ecx
  jnz 1b
  mov $0x31,%al
  out %al,$0xf4
  hlt
.p2align 3
gdt:
  .quad 0
  .quad 0x00af9a000000ffff
  .quad 0x00cf92000000ffff
gdtr:
  .word 23
  .long gdt - _start + 0x7c00
.org 510
.byte 0x55,0xaa
