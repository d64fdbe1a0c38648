//! libvirt's normalisations: sizes to KiB, filled-in defaults, canonical section order.

use virt_xml::Domain;

#[test]
fn sizes_defaults_and_order_are_normalised() {
    let input = "<domain type='kvm'>
  <vcpu>2</vcpu>
  <os><type arch='x86_64'>hvm</type></os>
  <memtune><hard_limit unit='M'>1</hard_limit></memtune>
  <name>u</name>
  <memory unit='GiB'>2</memory>
  <memoryBacking><hugepages><page size='2' unit='M'/></hugepages></memoryBacking>
  <cpu><numa><cell id='0' cpus='0-1' memory='1' unit='GiB'/></numa></cpu>
  <devices>
    <memballoon model='none'/>
    <controller type='usb'/>
    <graphics type='vnc'/>
  </devices>
</domain>
";
    let want = "<domain type='kvm'>
  <name>u</name>
  <memory unit='KiB'>2097152</memory>
  <currentMemory unit='KiB'>2097152</currentMemory>
  <memtune>
    <hard_limit unit='KiB'>1024</hard_limit>
  </memtune>
  <memoryBacking>
    <hugepages>
      <page size='2048' unit='KiB'/>
    </hugepages>
  </memoryBacking>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64'>hvm</type>
    <boot dev='hd'/>
  </os>
  <cpu>
    <numa>
      <cell id='0' cpus='0-1' memory='1048576' unit='KiB'/>
    </numa>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <controller type='usb' index='0'/>
    <graphics type='vnc' port='-1' autoport='yes'>
      <listen type='address'/>
    </graphics>
    <memballoon model='none'/>
  </devices>
</domain>
";
    let d = Domain::parse(input).expect("parse");
    assert_eq!(d.to_xml(), want);
    assert_eq!(Domain::parse(want).expect("reparse").to_xml(), want);
}
