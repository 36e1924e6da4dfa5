#!/usr/bin/perl
# Direct clone, receiving side (init container "data"): accept ONE connection on PORT (or
# ADDRESS:PORT) that
# presents the one-time token read from stdin, then run COMMAND... with that connection as its
# stdin (the stream is not copied through this process: this process becomes the command). A
# connection with a wrong token, or without a whole token within HANDSHAKE seconds (a silent
# connection must not hold the clone up), is closed and forgotten. Gives up after 120 s
# without a sender.
# Writes its pid to PIDFILE (in the operation's workspace) so that a later clone of the same
# target can end it if this one is interrupted (stop-stale.sh).
use strict; use warnings; use IO::Socket::INET; use IO::Select;
my $HANDSHAKE = 5;
my ($port, $pidfile, @command) = @ARGV;
@command or die "usage: receive.pl PORT PIDFILE COMMAND...\n";
open(my $p, '>', $pidfile) or die "cannot write $pidfile: $!\n"; print $p "$$\n"; close $p;
my $token = <STDIN>; defined $token or die "no token on stdin\n"; chomp $token;
length($token) >= 32 or die "token too short\n";
# PORT, or ADDRESS:PORT to listen on one address only (127.0.0.1 behind a TLS tunnel).
my ($address, $number) = $port =~ /^(?:(.+):)?(\d+)$/ or die "bad port $port\n";
my $server = IO::Socket::INET->new(LocalPort => $number, Listen => 1, ReuseAddr => 1, Proto => 'tcp',
    defined $address ? (LocalAddr => $address) : ())
  or die "cannot listen on $port: $!\n";
$SIG{ALRM} = sub { die "no sender connected within 120 s\n" };
alarm 120;
while (my $client = $server->accept) {
  my $got = '';
  my $ready = IO::Select->new($client);
  my $until = time + $HANDSHAKE;
  while (length($got) < length($token) + 1) {
    my $left = $until - time;
    last if $left <= 0 || !$ready->can_read($left);
    my $n = sysread($client, $got, length($token) + 1 - length($got), length($got));
    last unless $n;
  }
  my $diff = length($got) == length($token) + 1 ? 0 : 1;
  $diff |= ord(substr($got, $_, 1)) ^ ord(substr($token, $_, 1)) for 0 .. length($token) - 1;
  if ($diff) { close $client; next; }
  alarm 0;
  close $server;
  open(STDIN, '<&', $client) or die "cannot read from the connection: $!\n";
  close $client;
  exec { $command[0] } @command or die "cannot run $command[0]: $!\n";
}
die "accept failed: $!\n";
