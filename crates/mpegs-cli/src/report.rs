//! Human-readable verification reports.

use mpegs_provenance::bundle::MediaRecord;
use mpegs_provenance::verify::Report;

/// `YYYY-MM-DD HH:MM:SS UTC` from Unix seconds (proleptic Gregorian).
pub fn utc(secs: u64) -> String {
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn media(m: &MediaRecord) -> String {
    let c = &m.commitment;
    format!(
        "{}x{} {} (tile {}), commitment {}…{}",
        m.header.width,
        m.header.height,
        m.header.format,
        m.header.tile,
        &c[..10],
        &c[c.len() - 6..]
    )
}

pub fn render(name: &str, r: &Report) -> String {
    let mut out = String::new();
    let verdict = if r.valid { "VALID" } else { "INVALID" };
    out.push_str(&format!("{name}: {verdict}\n"));
    out.push_str(&format!("  media     {}\n", media(&r.media)));
    if let Some(o) = &r.origin {
        out.push_str(&format!(
            "  captured  {} by device {} (id \"{}\")\n",
            utc(o.captured_at),
            o.device,
            o.device_id
        ));
        out.push_str(&format!(
            "  original  {} — private, never revealed\n",
            media(&o.media)
        ));
    }
    for (i, s) in r.steps.iter().enumerate() {
        out.push_str(&format!(
            "  step {}    {} → {}x{} {}: {} tile proofs ok ({} circuit{})\n",
            i + 1,
            s.filter,
            s.output.header.width,
            s.output.header.height,
            s.output.header.format,
            s.tiles,
            s.circuits,
            if s.circuits == 1 { "" } else { "s" }
        ));
    }
    if let Some(reason) = &r.reason {
        out.push_str(&format!("  FAILED    {reason}\n"));
    } else {
        out.push_str(&format!(
            "  ok        {} proofs verified; signature checked\n",
            r.proofs_verified
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn utc_formats_known_instants() {
        assert_eq!(super::utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(super::utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(super::utc(1_798_761_599), "2026-12-31 23:59:59 UTC");
    }
}
