# Shared by the tests that run sg on other hosts over ssh: hosts h1, h2...
# are network namespaces joined to this machine by veth pairs of their own,
# each running its own sshd, with key-only login and a home of its own.
# Needs root; a test skips, saying why, where they cannot be made.

# hosts_up N: start hosts h1..hN; ssh_config in $PWD reaches them, and
# $GATEWAY is an address of this machine every one of them reaches.
hosts_up() {
	local k ns a b home dir=$BATS_TEST_TMPDIR/hosts
	[ "$(id -u)" -eq 0 ] || skip "not root: no network namespaces"
	[ -x /usr/sbin/sshd ] || skip "no sshd (tests/deps.sh installs openssh-server)"
	command -v rsync > /dev/null || skip "no rsync (tests/deps.sh installs it)"
	HOSTS_NET=10.$(($$ % 200 + 20))
	HOSTS_TAG=sg$$
	GATEWAY=$HOSTS_NET.1.1
	mkdir -p "$dir" /run/sshd
	ssh-keygen -q -t ed25519 -N '' -C sg-test -f "$dir/id"
	ssh-keygen -q -t ed25519 -N '' -C sg-test -f "$dir/host_key"
	: > ssh_config
	for k in $(seq "$1"); do
		ns=$HOSTS_TAG-h$k a=${HOSTS_TAG}a$k b=${HOSTS_TAG}b$k home=$dir/home$k
		ip netns add "$ns" 2> /dev/null || skip "cannot make network namespaces"
		HOSTS+=("$ns")
		ip link add "$a" type veth peer name "$b" netns "$ns" ||
			skip "cannot make veth pairs"
		ip addr add "$HOSTS_NET.$k.1/24" dev "$a"
		ip link set "$a" up
		# ip -n remounts / in a mount namespace: not in a chroot
		ip -n "$ns" addr add "$HOSTS_NET.$k.2/24" dev "$b" ||
			skip "cannot enter network namespaces (ip -n)"
		ip -n "$ns" link set "$b" up
		ip -n "$ns" link set lo up
		ip -n "$ns" route add default via "$HOSTS_NET.$k.1"
		mkdir -m 700 "$home" "$home/.ssh"
		cp "$dir/id.pub" "$home/.ssh/authorized_keys"
		cat > "$dir/sshd$k.conf" <<-EOF
			ListenAddress $HOSTS_NET.$k.2
			HostKey $dir/host_key
			PidFile $dir/sshd$k.pid
			PubkeyAuthentication yes
			PasswordAuthentication no
			KbdInteractiveAuthentication no
			PermitRootLogin prohibit-password
			UsePAM no
		EOF
		# root's home on this host is home$k: a mount of its own
		ip netns exec "$ns" unshare -m sh -c 'mount --bind "$1" /root &&
			exec /usr/sbin/sshd -f "$2" -E "$3"' sh "$home" \
			"$dir/sshd$k.conf" "$dir/sshd$k.log" ||
			skip "cannot start sshd in a network namespace"
		echo "$HOSTS_NET.$k.2 $(cat "$dir/host_key.pub")" >> "$dir/known_hosts"
		cat >> ssh_config <<-EOF
			Host h$k
			  HostName $HOSTS_NET.$k.2
			  User root
			  IdentityFile $dir/id
			  IdentitiesOnly yes
			  UserKnownHostsFile $dir/known_hosts
			  StrictHostKeyChecking yes
			  BatchMode yes
		EOF
	done
	for k in $(seq "$1"); do
		for _ in $(seq 50); do
			ssh -F ssh_config h$k true 2> /dev/null && continue 2
			sleep 0.1
		done
		skip "sshd on h$k does not answer: $(tail -n 2 "$dir/sshd$k.log")"
	done
}

# host_down K: every process of host hK ends, sshd and its logins: the
# host is gone.
host_down() {
	local p
	for p in $(ip netns pids "$HOSTS_TAG-h$1"); do kill -9 "$p" 2> /dev/null || true; done
}

# The home directory of host hK.
host_home() {
	echo "$BATS_TEST_TMPDIR/hosts/home$1"
}

hosts_down() {
	local ns p
	for ns in "${HOSTS[@]}"; do
		for p in $(ip netns pids "$ns"); do kill -9 "$p" 2> /dev/null || true; done
		ip netns del "$ns" || true
	done
	HOSTS=()
}
