//! Reading raw binary-log bytes as the server wrote them (the archive's unit): where complete
//! events end, which GTID each transaction has, when each event was stamped, and the GTID
//! state a file begins with (MariaDB Gtid_list, MySQL Previous_gtids). Pure: bytes in, facts
//! out; both engines' event layouts (v4 header: timestamp u32, type u8, server_id u32,
//! event_size u32, log_pos u32, flags u16, all little-endian).
use super::engine::Engine;

/// A binary-log file's first four bytes.
pub const MAGIC: &[u8; 4] = b"\xfebin";
const HEADER_LEN: usize = 19;

const QUERY: u8 = 2;
const ROTATE: u8 = 4;
const XID: u8 = 16;
const MYSQL_GTID: u8 = 33;
const MYSQL_PREVIOUS_GTIDS: u8 = 35;
const MARIADB_GTID: u8 = 162;
const MARIADB_GTID_LIST: u8 = 163;

/// What an event tells the archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// A transaction begins: its GTID as the engine prints it (`0-1-5`, `uuid:5`).
    Gtid(String),
    /// The GTID state the file begins with, as the engine prints it.
    StartState(String),
    /// The server moved on to the next file.
    Rotate,
    /// A transaction's explicit start (a Query event `BEGIN`).
    Begin,
    /// A transaction's end: an XID event, or a Query event `COMMIT`.
    Commit,
    /// Another Query event (DDL: a transaction of its own when no BEGIN came before it).
    Statement,
    Other,
}

/// One complete event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// Seconds since the epoch the server stamped it with.
    pub time: u32,
    pub fact: Fact,
}

/// Complete events at the start of `bytes`: `bytes` begin at an event boundary, or at a
/// file's start (`file_start`: the magic first). Returns how many bytes they span (what may be
/// archived now; the rest waits for more) and what they say. Bytes that are not a binary log
/// are an error.
pub fn complete_events(
    engine: Engine,
    bytes: &[u8],
    file_start: bool,
) -> Result<(usize, Vec<Event>), String> {
    let mut at = 0;
    if file_start {
        if bytes.len() < MAGIC.len() {
            return Ok((0, Vec::new()));
        }
        if &bytes[..4] != MAGIC {
            return Err("the file does not begin as a binary log".into());
        }
        at = 4;
    }
    let mut events = Vec::new();
    while bytes.len() >= at + HEADER_LEN {
        let header = &bytes[at..at + HEADER_LEN];
        let size = u32_at(header, 9) as usize;
        if size < HEADER_LEN {
            return Err(format!("an event of {size} bytes at byte {at}"));
        }
        if bytes.len() < at + size {
            break;
        }
        let body = &bytes[at + HEADER_LEN..at + size];
        events.push(Event {
            time: u32_at(header, 0),
            fact: fact(engine, header[4], u32_at(header, 5), body),
        });
        at += size;
    }
    Ok((at, events))
}

/// Which transactions are whole, event by event: the one a GTID begins is whole at its XID or
/// COMMIT, at its one statement when no BEGIN came (DDL), or at the next GTID or the file's end.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Transactions {
    /// The transaction begun and not yet whole.
    pub open: Option<String>,
    /// It began with BEGIN (a statement does not end it).
    explicit: bool,
}

impl Transactions {
    /// Resumes with `open` (kept from an earlier reading) as begun explicitly: only its end
    /// or the next transaction makes it whole.
    pub fn resume(open: Option<String>) -> Self {
        Transactions {
            open,
            explicit: true,
        }
    }

    /// The GTID `fact` makes whole, if any.
    pub fn see(&mut self, fact: &Fact) -> Option<String> {
        match fact {
            Fact::Gtid(g) => {
                self.explicit = false;
                self.open.replace(g.clone())
            }
            Fact::Begin => {
                self.explicit = true;
                None
            }
            Fact::Commit | Fact::Rotate => self.open.take(),
            Fact::Statement if !self.explicit => self.open.take(),
            Fact::Statement | Fact::StartState(_) | Fact::Other => None,
        }
    }
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"))
}

fn u64_at(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

fn fact(engine: Engine, kind: u8, server: u32, body: &[u8]) -> Fact {
    let parsed = match (engine, kind) {
        (_, ROTATE) => Some(Fact::Rotate),
        (_, XID) => Some(Fact::Commit),
        (_, QUERY) => query_fact(body),
        (Engine::Mariadb, MARIADB_GTID) => mariadb_gtid(server, body).map(Fact::Gtid),
        (Engine::Mariadb, MARIADB_GTID_LIST) => mariadb_gtid_list(body).map(Fact::StartState),
        (Engine::Mysql, MYSQL_GTID) => mysql_gtid(body).map(Fact::Gtid),
        (Engine::Mysql, MYSQL_PREVIOUS_GTIDS) => mysql_gtid_set(body).map(Fact::StartState),
        _ => None,
    };
    parsed.unwrap_or(Fact::Other)
}

/// A Query event: thread u32, exec time u32, db length u8, error u16, status length u16, the
/// status variables, the db name and a NUL, then the statement.
fn query_fact(body: &[u8]) -> Option<Fact> {
    let db_len = *body.get(8)? as usize;
    let status_len = u16::from_le_bytes(body.get(11..13)?.try_into().ok()?) as usize;
    let text = body.get(13 + status_len + db_len + 1..)?;
    Some(if text.starts_with(b"BEGIN") {
        Fact::Begin
    } else if text.starts_with(b"COMMIT") {
        Fact::Commit
    } else {
        Fact::Statement
    })
}

/// MariaDB GTID event: seq_no u64, domain_id u32 (the server is the header's).
fn mariadb_gtid(server: u32, body: &[u8]) -> Option<String> {
    let seq = u64_at(body, 0)?;
    let domain = u32_at(body.get(..12)?, 8);
    Some(format!("{domain}-{server}-{seq}"))
}

/// MariaDB Gtid_list: count u32 (low 28 bits), then (domain u32, server u32, seq u64) each.
fn mariadb_gtid_list(body: &[u8]) -> Option<String> {
    let count = (u32_at(body.get(..4)?, 0) & 0x0fff_ffff) as usize;
    let mut out = Vec::new();
    for i in 0..count {
        let at = 4 + i * 16;
        let entry = body.get(at..at + 16)?;
        let seq = u64_at(entry, 8)?;
        out.push(format!("{}-{}-{seq}", u32_at(entry, 0), u32_at(entry, 4)));
    }
    Some(out.join(","))
}

fn uuid(b: &[u8]) -> String {
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// MySQL GTID event: flags u8, source UUID (16 bytes), transaction number i64.
fn mysql_gtid(body: &[u8]) -> Option<String> {
    let sid = body.get(1..17)?;
    let gno = u64_at(body, 17)?;
    Some(format!("{}:{gno}", uuid(sid)))
}

/// MySQL Previous_gtids: n_sids u64, then per source UUID (16 bytes), n_intervals u64 and the
/// intervals (start i64, end i64 exclusive).
fn mysql_gtid_set(body: &[u8]) -> Option<String> {
    let sids = u64_at(body, 0)?;
    let mut at = 8;
    let mut out = Vec::new();
    for _ in 0..sids {
        let sid = uuid(body.get(at..at + 16)?);
        let n = u64_at(body, at + 16)?;
        at += 24;
        let mut text = sid;
        for _ in 0..n {
            let (start, end) = (u64_at(body, at)?, u64_at(body, at + 8)?);
            at += 16;
            if end == start + 1 {
                text += &format!(":{start}");
            } else {
                text += &format!(":{start}-{}", end - 1);
            }
        }
        out.push(text);
    }
    Some(out.join(","))
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// An event as the server writes it (with a CRC32-sized checksum tail).
    pub fn event(time: u32, kind: u8, server: u32, body: &[u8]) -> Vec<u8> {
        let size = (HEADER_LEN + body.len() + 4) as u32;
        let mut e = Vec::new();
        e.extend(time.to_le_bytes());
        e.push(kind);
        e.extend(server.to_le_bytes());
        e.extend(size.to_le_bytes());
        e.extend(0u32.to_le_bytes());
        e.extend(0u16.to_le_bytes());
        e.extend(body);
        e.extend([0xaa; 4]);
        e
    }

    pub fn mariadb_gtid_event(time: u32, domain: u32, server: u32, seq: u64) -> Vec<u8> {
        let mut body = seq.to_le_bytes().to_vec();
        body.extend(domain.to_le_bytes());
        body.push(0);
        event(time, MARIADB_GTID, server, &body)
    }

    pub fn mariadb_list_event(entries: &[(u32, u32, u64)]) -> Vec<u8> {
        let mut body = (entries.len() as u32).to_le_bytes().to_vec();
        for (d, s, n) in entries {
            body.extend(d.to_le_bytes());
            body.extend(s.to_le_bytes());
            body.extend(n.to_le_bytes());
        }
        event(1, MARIADB_GTID_LIST, 1, &body)
    }

    const SID: [u8; 16] = [
        0x89, 0xb9, 0xa1, 0xc0, 0xf1, 0xd6, 0x11, 0xf1, 0x81, 0x91, 0xe6, 0x06, 0xfe, 0xfd, 0x81,
        0xe7,
    ];
    const UUID: &str = "89b9a1c0-f1d6-11f1-8191-e606fefd81e7";

    pub fn mysql_gtid_event(time: u32, gno: u64) -> Vec<u8> {
        let mut body = vec![1];
        body.extend(SID);
        body.extend(gno.to_le_bytes());
        body.extend([0; 10]);
        event(time, MYSQL_GTID, 7, &body)
    }

    fn mysql_previous_event(intervals: &[(u64, u64)]) -> Vec<u8> {
        let mut body = 1u64.to_le_bytes().to_vec();
        body.extend(SID);
        body.extend((intervals.len() as u64).to_le_bytes());
        for (s, e) in intervals {
            body.extend(s.to_le_bytes());
            body.extend(e.to_le_bytes());
        }
        event(1, MYSQL_PREVIOUS_GTIDS, 7, &body)
    }

    fn file(events: &[Vec<u8>]) -> Vec<u8> {
        let mut out = MAGIC.to_vec();
        for e in events {
            out.extend(e);
        }
        out
    }

    #[test]
    fn a_mariadb_file_says_its_start_state_and_each_transactions_gtid() {
        let bytes = file(&[
            event(1, 15, 1, &[0; 40]),
            mariadb_list_event(&[(0, 1, 4), (1, 2, 9)]),
            mariadb_gtid_event(100, 0, 1, 5),
            event(100, 16, 1, &[0; 8]),
            mariadb_gtid_event(101, 0, 3, 6),
            event(102, ROTATE, 1, b"\x04\0\0\0\0\0\0\0mysql-bin.000002"),
        ]);
        let (n, events) = complete_events(Engine::Mariadb, &bytes, true).unwrap();
        assert_eq!(n, bytes.len());
        let facts: Vec<Fact> = events.iter().map(|e| e.fact.clone()).collect();
        assert_eq!(
            facts,
            [
                Fact::Other,
                Fact::StartState("0-1-4,1-2-9".into()),
                Fact::Gtid("0-1-5".into()),
                Fact::Commit,
                Fact::Gtid("0-3-6".into()),
                Fact::Rotate
            ]
        );
        assert_eq!(events[4].time, 101);
    }

    #[test]
    fn a_mysql_file_says_its_start_state_and_each_transactions_gtid() {
        let bytes = file(&[
            event(1, 15, 7, &[0; 40]),
            mysql_previous_event(&[(1, 5), (7, 8)]),
            mysql_gtid_event(200, 8),
        ]);
        let (_, events) = complete_events(Engine::Mysql, &bytes, true).unwrap();
        assert_eq!(events[1].fact, Fact::StartState(format!("{UUID}:1-4:7")));
        assert_eq!(events[2].fact, Fact::Gtid(format!("{UUID}:8")));
        assert_eq!(events[2].time, 200);
    }

    pub fn query_event(text: &str) -> Vec<u8> {
        let mut body = vec![0; 8];
        body.push(3); // db length
        body.extend([0, 0]); // error
        body.extend(2u16.to_le_bytes()); // status variables
        body.extend([9, 9]);
        body.extend(b"app\0");
        body.extend(text.as_bytes());
        event(1, QUERY, 1, &body)
    }

    #[test]
    fn transactions_begin_and_end_as_their_events_say() {
        let bytes = [
            query_event("BEGIN"),
            event(1, 19, 1, &[0; 8]),
            event(1, XID, 1, &[0; 8]),
            query_event("COMMIT"),
            query_event("CREATE TABLE t (i INT)"),
        ]
        .concat();
        let (_, events) = complete_events(Engine::Mysql, &bytes, false).unwrap();
        let facts: Vec<Fact> = events.into_iter().map(|e| e.fact).collect();
        assert_eq!(
            facts,
            [
                Fact::Begin,
                Fact::Other,
                Fact::Commit,
                Fact::Commit,
                Fact::Statement
            ]
        );
    }

    #[test]
    fn a_transaction_is_whole_at_its_end() {
        let g = |s: &str| Fact::Gtid(s.into());
        let mut t = Transactions::default();
        let mut whole = Vec::new();
        for fact in [
            g("0-1-1"),
            Fact::Begin,
            Fact::Statement, // a statement inside BEGIN..COMMIT does not end it
            Fact::Other,
            Fact::Commit,
            g("0-1-2"),
            Fact::Statement, // DDL: its own transaction
            g("0-1-3"),
            Fact::Begin,
            Fact::Other,
            g("0-1-4"), // the next one begins: 3 counts as whole
            Fact::Rotate,
        ] {
            whole.extend(t.see(&fact));
        }
        assert_eq!(whole, ["0-1-1", "0-1-2", "0-1-3", "0-1-4"]);
        assert_eq!(t.open, None);
        let mut resumed = Transactions::resume(Some("0-1-9".into()));
        assert_eq!(resumed.see(&Fact::Statement), None);
        assert_eq!(resumed.see(&Fact::Commit).as_deref(), Some("0-1-9"));
    }

    #[test]
    fn an_event_cut_short_waits_for_its_end() {
        let whole = [mariadb_gtid_event(1, 0, 1, 1), event(1, 16, 1, &[0; 8])].concat();
        for cut in 0..whole.len() {
            let (n, events) = complete_events(Engine::Mariadb, &whole[..cut], false).unwrap();
            let first = whole.len() - 31;
            let expected = if cut >= first { first } else { 0 };
            assert_eq!(n, expected, "cut at {cut}");
            assert_eq!(events.len(), usize::from(cut >= first));
        }
        let (n, _) = complete_events(Engine::Mariadb, &whole[..], false).unwrap();
        assert_eq!(n, whole.len());
    }

    #[test]
    fn a_file_start_needs_the_magic() {
        assert_eq!(complete_events(Engine::Mysql, b"\xfe", true).unwrap().0, 0);
        assert!(complete_events(Engine::Mysql, b"GIF89a.....", true).is_err());
        let short = [0u8; HEADER_LEN];
        assert!(complete_events(Engine::Mysql, &short, false).is_err());
    }

    #[test]
    fn the_other_engines_gtid_type_is_not_read_as_a_gtid() {
        let bytes = mysql_gtid_event(5, 3);
        let (_, events) = complete_events(Engine::Mariadb, &bytes, false).unwrap();
        assert_eq!(events[0].fact, Fact::Other);
    }
}
