#!/usr/bin/perl
# Direct clone, sending side (donor's server container): connect to HOST PORT, present the
# one-time token from TOKEN_FILE (deleted at once), then run COMMAND... with its stdout on the
# connection itself (the stream is not copied through this process). A few times a second,
# prints the bytes the receiver has acknowledged (the kernel's count, TCP_INFO) for the
# plugin's progress bar, and the total at the end; exits with the command's status.
use strict; use warnings; use IO::Socket::INET; use Time::HiRes qw(time sleep);
use POSIX qw(WNOHANG);
my ($host, $port, $token_file, @command) = @ARGV;
@command or die "usage: send.pl HOST PORT TOKEN_FILE COMMAND...\n";
open(my $fh, '<', $token_file) or die "no token file: $!\n";
my $token = <$fh>; close $fh; unlink $token_file; chomp $token;
my $sock;
my $deadline = time + 30;
until ($sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp')) {
  die "cannot connect to $host:$port: $!\n" if time > $deadline;
  sleep 0.2;
}
syswrite($sock, "$token\n") == length($token) + 1 or die "sending the token: $!\n";
my $pid = fork() // die "cannot fork: $!\n";
if ($pid == 0) {
  open(STDOUT, '>&', $sock) or die "cannot send on the connection: $!\n";
  close $sock;
  exec { $command[0] } @command or die "cannot run $command[0]: $!\n";
}
# struct tcp_info's tcpi_bytes_acked (u64 at byte 120; IPPROTO_TCP 6, TCP_INFO 11), less the
# SYN, the token line and, once sent, the FIN (each counts).
my $fin = 0;
my $sent = sub {
  my $info = getsockopt($sock, 6, 11);
  return 0 unless defined $info && length($info) >= 128;
  my $acked = unpack('Q', substr($info, 120, 8)) - 1 - length($token) - 1 - $fin;
  return $acked > 0 ? $acked : 0;
};
$| = 1;
my $status;
while (1) {
  if (waitpid($pid, WNOHANG) == $pid) { $status = $?; last; }
  print $sent->(), "\n";
  sleep 0.25;
}
if ($status) {
  my $code = $status >> 8 || 1;
  print STDERR "$command[0] failed (exit status $code)\n";
  exit $code;
}
# Everything is written: tell the receiver, and wait until it has taken it all and closed.
shutdown($sock, 1);
my $ack; sysread($sock, $ack, 1);
$fin = 1;
print $sent->(), "\n";
close $sock;
