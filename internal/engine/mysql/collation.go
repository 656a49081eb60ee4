package mysql

import (
	"context"
	"database/sql"
	"fmt"
	"regexp"
	"strings"

	"github.com/dbaasd/dbaasd/internal/engine"
)

// Databases carry PostgreSQL-style lc_collate/lc_ctype in the API. They map
// to a MariaDB character set and collation like this:
//
//   - both empty: utf8mb4 with its default collation (utf8mb4_general_ci);
//   - a MariaDB collation name (lc_collate "utf8mb4_unicode_ci") or
//     character set name (lc_ctype "latin1") is used as is;
//   - a locale: "C" and "POSIX" (with or without ".UTF-8") → utf8mb4_bin;
//     "<lang>_<COUNTRY>.UTF-8" → the utf8mb4 collation of that language
//     when MariaDB has one (sv → utf8mb4_swedish_ci, de → utf8mb4_german2_ci,
//     …), else utf8mb4_unicode_520_ci; a locale's character set is utf8mb4
//     (only UTF-8 locales are accepted);
//   - lc_ctype gives the character set, lc_collate the collation; they
//     must agree (latin1 with utf8mb4_bin is refused).
//
// Anything else is refused as invalid.

var localeRe = regexp.MustCompile(`^([a-z]{2,3})(?:_[A-Z]{2})?(?:\.([A-Za-z0-9-]+))?(?:@[A-Za-z0-9]+)?$`)

// localeLanguages maps languages to MariaDB's language-specific collations.
var localeLanguages = map[string]string{
	"is": "icelandic", "lv": "latvian", "ro": "romanian", "sl": "slovenian", "pl": "polish",
	"et": "estonian", "es": "spanish", "sv": "swedish", "tr": "turkish", "cs": "czech",
	"da": "danish", "lt": "lithuanian", "sk": "slovak", "hu": "hungarian", "hr": "croatian",
	"vi": "vietnamese", "fa": "persian", "si": "sinhala", "eo": "esperanto", "de": "german2",
}

func isUTF8(enc string) bool {
	e := strings.ToLower(strings.ReplaceAll(enc, "-", ""))
	return e == "" || e == "utf8"
}

// localeCollation maps a locale to candidate collations (best first).
func localeCollation(s string) ([]string, bool, error) {
	base, enc, _ := strings.Cut(s, ".")
	if base == "C" || base == "POSIX" {
		if !isUTF8(enc) {
			return nil, true, fmt.Errorf("locale %q: only UTF-8 locales are supported", s)
		}
		return []string{"utf8mb4_bin"}, true, nil
	}
	m := localeRe.FindStringSubmatch(s)
	if m == nil {
		return nil, false, nil
	}
	if !isUTF8(m[2]) {
		return nil, true, fmt.Errorf("locale %q: only UTF-8 locales are supported", s)
	}
	var out []string
	if lang, ok := localeLanguages[m[1]]; ok {
		out = append(out, "utf8mb4_"+lang+"_ci")
	}
	return append(out, "utf8mb4_unicode_520_ci"), true, nil
}

// resolveCollation maps lc_collate/lc_ctype to a character set and a
// collation that exist on the server.
func resolveCollation(ctx context.Context, db *sql.DB, lcCollate, lcCtype string) (charset, collation string, err error) {
	lcCollate, lcCtype = strings.TrimSpace(lcCollate), strings.TrimSpace(lcCtype)
	if lcCtype != "" {
		base, enc, _ := strings.Cut(lcCtype, ".")
		switch {
		case base == "C" || base == "POSIX" || localeRe.MatchString(lcCtype):
			if !isUTF8(enc) {
				return "", "", fmt.Errorf("lc_ctype %q: only UTF-8 locales are supported: %w", lcCtype, engine.ErrInvalid)
			}
			charset = "utf8mb4"
		default:
			cs, err := queryString(ctx, db, "SELECT CHARACTER_SET_NAME FROM information_schema.CHARACTER_SETS WHERE CHARACTER_SET_NAME = ?", strings.ToLower(lcCtype))
			if errNoRows(err) {
				return "", "", fmt.Errorf("lc_ctype %q is neither a locale nor a MariaDB character set: %w", lcCtype, engine.ErrInvalid)
			}
			if err != nil {
				return "", "", sqlErr("look up character set", err)
			}
			charset = cs
		}
	}
	if charset == "" {
		charset = "utf8mb4"
	}
	var candidates []string
	if lcCollate != "" {
		cands, isLocale, err := localeCollation(lcCollate)
		if err != nil {
			return "", "", fmt.Errorf("lc_collate: %w: %w", engine.ErrInvalid, err)
		}
		if !isLocale {
			cands = []string{strings.ToLower(lcCollate)}
		}
		candidates = cands
	}
	if len(candidates) == 0 {
		coll, err := queryString(ctx, db, "SELECT DEFAULT_COLLATE_NAME FROM information_schema.CHARACTER_SETS WHERE CHARACTER_SET_NAME = ?", charset)
		if err != nil {
			return "", "", sqlErr("default collation of "+charset, err)
		}
		return charset, coll, nil
	}
	for _, cand := range candidates {
		cs, err := queryString(ctx, db, "SELECT CHARACTER_SET_NAME FROM information_schema.COLLATIONS WHERE COLLATION_NAME = ?", cand)
		if errNoRows(err) {
			continue
		}
		if err != nil {
			return "", "", sqlErr("look up collation", err)
		}
		if lcCtype != "" && cs != charset {
			return "", "", fmt.Errorf("lc_collate %q (character set %s) does not match lc_ctype %q (%s): %w", lcCollate, cs, lcCtype, charset, engine.ErrInvalid)
		}
		return cs, cand, nil
	}
	return "", "", fmt.Errorf("lc_collate %q is neither a locale nor a MariaDB collation: %w", lcCollate, engine.ErrInvalid)
}
