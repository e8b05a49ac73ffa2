// Package dns is the DNS server of a user-defined nook network, like
// Podman's aardvark-dns or Docker's embedded DNS: it listens on the
// network's gateway address (port 53, UDP and TCP), answers A queries for
// the names and aliases of the network's containers from a records file the
// network Manager rewrites whenever members come and go, and forwards every
// other query to the host's resolvers, except on internal networks, which
// get no answers from outside (NXDOMAIN).
//
// One server runs per network, as its own process: the engine re-executes
// itself as `nook dns-server`, which calls Serve with the Config found at
// $NOOK_DNS_CONFIG (ConfigEnv). The server exits when its context ends or
// when its records file disappears (the network was removed).
package dns
