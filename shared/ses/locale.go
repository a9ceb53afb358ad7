package ses

import (
	"fmt"
	"strings"
	"time"
)

// The languages Doorman's emails are written in; the first is the fallback.
var languages = []string{"en", "de", "fr", "es"}

// language picks the template language for a BCP 47 tag by its primary language
// subtag ("de-CH" → "de", "es-419" → "es"), falling back to English. POSIX-style
// tags ("fr_FR.UTF-8") are tolerated because operators paste them from shells.
func language(tag string) string {
	primary := strings.TrimSpace(tag)
	if i := strings.IndexAny(primary, "-_."); i >= 0 {
		primary = primary[:i]
	}
	primary = strings.ToLower(primary)
	for _, l := range languages {
		if primary == l {
			return l
		}
	}
	return languages[0]
}

var months = map[string][12]string{
	"en": {"January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"},
	"de": {"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"},
	"fr": {"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"},
	"es": {"enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"},
}

// formatExpiry writes t as a date and time in lang's usual long form. It is always in
// UTC and says so: Doorman does not know the invitee's time zone, and a date without
// a zone would be wrong by a day for half the world. The zero time formats as "".
func formatExpiry(lang string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	t = t.UTC()
	day, year := t.Day(), t.Year()
	hour, minute := t.Hour(), t.Minute()
	month := months[language(lang)][t.Month()-1]
	switch language(lang) {
	case "de":
		return fmt.Sprintf("%d. %s %d um %02d:%02d UTC", day, month, year, hour, minute)
	case "fr":
		d := fmt.Sprint(day)
		if day == 1 {
			d = "1er" // French writes the first of the month as an ordinal.
		}
		return fmt.Sprintf("%s %s %d à %02d:%02d UTC", d, month, year, hour, minute)
	case "es":
		at := "a las"
		if hour == 1 {
			at = "a la" // "a la una"
		}
		return fmt.Sprintf("%d de %s de %d %s %02d:%02d UTC", day, month, year, at, hour, minute)
	default:
		return fmt.Sprintf("%d %s %d at %02d:%02d UTC", day, month, year, hour, minute)
	}
}
