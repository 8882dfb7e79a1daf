# shellcheck shell=bash
# Distribution feeds at a projected scale, made from the samples (bench/distro_feeds.sh,
# bench/vuln.sh). Sourced.

# project_oval SAMPLE N OUT: the SUSE OVAL sample's header and tables once, its CVE-2010-1323
# definition (krb5: 8 packages, 21 KB of criteria and tests) N times with distinct CVE ids.
project_oval() {
  python3 - "$1" "$2" "$3" <<'EOF'
import sys
text = open(sys.argv[1]).read()
n = int(sys.argv[2])
start = text.index('<definition id="oval:org.opensuse.security:def:20101323"')
end = text.index('</definition>', start) + len('</definition>')
definition = text[start:end]
head = text[:text.index('<definitions>') + len('<definitions>')]
tail = text[text.index('</definitions>'):]
with open(sys.argv[3], 'w') as out:
    out.write(head)
    for i in range(n):
        out.write(definition.replace('CVE-2010-1323', 'CVE-2099-%07d' % i))
    out.write(tail)
EOF
}

# project_csaf EXCERPT N OUT SCRATCH: the Red Hat CSAF VEX excerpt as N files of distinct CVEs in
# vex/2099/, packed as a tar.zst (the form Red Hat publishes); SCRATCH is an empty directory.
project_csaf() {
  python3 - "$1" "$2" "$4/vex" <<'EOF'
import os, sys
text = open(sys.argv[1]).read()
os.makedirs(sys.argv[3] + '/2099', exist_ok=True)
for i in range(int(sys.argv[2])):
    cve = 'CVE-2099-%07d' % i
    open('%s/2099/%s.json' % (sys.argv[3], cve.lower()), 'w').write(text.replace('CVE-2023-20593', cve))
EOF
  tar --zstd -cf "$3" -C "$4" vex
  rm -rf "$4/vex"
}
