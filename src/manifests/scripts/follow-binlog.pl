# follow-binlog.pl DIR INDEX FILE OFFSET: writes the server's binary log to stdout as it grows,
# from byte OFFSET of FILE on, following the index to each next file. Frames:
#   "F <file> <offset>\n"         the bytes that follow are of <file> from <offset>
#   "D <offset> <length>\n" BYTES  bytes of the current file
#   "I\n"                          nothing new (about every second while idle)
# A file counts as ended once the index names a next one and the file stopped growing.
use strict;
use warnings;
my ($dir, $index, $file, $offset) = @ARGV;
$| = 1;
binmode STDOUT;
$SIG{PIPE} = sub { exit 0 };
my $CHUNK = 1 << 20;

sub next_file {
    my ($current) = @_;
    open(my $fh, '<', "$dir/$index") or die "cannot read $dir/$index: $!\n";
    my @files = map { chomp; s{.*/}{}; $_ } <$fh>;
    close $fh;
    for my $i (0 .. $#files - 1) {
        return $files[$i + 1] if $files[$i] eq $current;
    }
    return undef;
}

print "F $file $offset\n";
my $idle = 0;
while (1) {
    my $path = "$dir/$file";
    my $size = -s $path;
    die "binary log $file is gone from $dir\n" unless defined $size;
    die "binary log $file has $size bytes, fewer than the $offset already read\n" if $size < $offset;
    if ($size > $offset) {
        open(my $fh, '<', $path) or die "cannot read $path: $!\n";
        binmode $fh;
        seek($fh, $offset, 0) or die "cannot seek in $path: $!\n";
        my $want = $size - $offset;
        $want = $CHUNK if $want > $CHUNK;
        my $got = read($fh, my $buf, $want);
        close $fh;
        die "cannot read $path: $!\n" unless defined $got;
        print "D $offset $got\n", $buf;
        $offset += $got;
        $idle = 0;
        next;
    }
    my $next = next_file($file);
    if (defined $next && (-s $path) == $offset) {
        $file = $next;
        $offset = 0;
        print "F $file 0\n";
        next;
    }
    print "I\n" if $idle++ % 20 == 0;
    select(undef, undef, undef, 0.05);
}
