#!/usr/bin/perl
# Direct clone, sending side (donor's server container): connect to HOST PORT, present the
# one-time token from TOKEN_FILE (deleted at once), send stdin; print the byte count on stdout
# a few times a second for the plugin's progress bar.
use strict; use warnings; use IO::Socket::INET; use Time::HiRes qw(time sleep);
my ($host, $port, $token_file) = @ARGV;
open(my $fh, '<', $token_file) or die "no token file: $!\n";
my $token = <$fh>; close $fh; unlink $token_file; chomp $token;
my $sock;
my $deadline = time + 30;
until ($sock = IO::Socket::INET->new(PeerAddr => $host, PeerPort => $port, Proto => 'tcp')) {
  die "cannot connect to $host:$port: $!\n" if time > $deadline;
  sleep 0.2;
}
syswrite($sock, "$token\n") == length($token) + 1 or die "sending the token: $!\n";
binmode STDIN; $| = 1;
my ($buf, $total, $shown) = ('', 0, 0);
while (1) {
  my $n = sysread(STDIN, $buf, 1 << 20);
  die "reading the backup: $!\n" unless defined $n;
  last if $n == 0;
  my $off = 0;
  while ($off < $n) { my $w = syswrite($sock, $buf, $n - $off, $off); die "sending: $!\n" unless defined $w; $off += $w; }
  $total += $n;
  if (time - $shown > 0.25) { print "$total\n"; $shown = time; }
}
shutdown($sock, 1);
my $ack; sysread($sock, $ack, 1);
close $sock;
print "$total\n";
