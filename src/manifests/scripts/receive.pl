#!/usr/bin/perl
# Direct clone, receiving side (init container "data"): accept ONE connection on the given port
# that presents the one-time token read from stdin, and copy what it sends to stdout. A
# connection with a wrong token is closed and forgotten. Gives up after 120 s without a sender.
# Writes its pid to PIDFILE (in the operation's workspace) so that a later clone of the same
# target can end it if this one is interrupted (stop-stale.sh).
use strict; use warnings; use IO::Socket::INET;
my ($port, $pidfile) = @ARGV;
$port or die "usage: receive.pl PORT [PIDFILE]\n";
if ($pidfile) { open(my $p, '>', $pidfile) or die "cannot write $pidfile: $!\n"; print $p "$$\n"; close $p; }
my $token = <STDIN>; defined $token or die "no token on stdin\n"; chomp $token;
length($token) >= 32 or die "token too short\n";
my $server = IO::Socket::INET->new(LocalPort => $port, Listen => 1, ReuseAddr => 1, Proto => 'tcp')
  or die "cannot listen on $port: $!\n";
$SIG{ALRM} = sub { die "no sender connected within 120 s\n" };
alarm 120;
binmode STDOUT;
while (my $client = $server->accept) {
  my $got = '';
  while (length($got) < length($token) + 1) {
    my $n = sysread($client, $got, length($token) + 1 - length($got), length($got));
    last unless $n;
  }
  my $diff = length($got) == length($token) + 1 ? 0 : 1;
  $diff |= ord(substr($got, $_, 1)) ^ ord(substr($token, $_, 1)) for 0 .. length($token) - 1;
  if ($diff) { close $client; next; }
  alarm 0;
  close $server;
  my $buf;
  while (1) {
    my $n = sysread($client, $buf, 1 << 20);
    die "reading the stream: $!\n" unless defined $n;
    last if $n == 0;
    my $off = 0;
    while ($off < $n) { my $w = syswrite(STDOUT, $buf, $n - $off, $off); die "writing: $!\n" unless defined $w; $off += $w; }
  }
  exit 0;
}
die "accept failed: $!\n";
