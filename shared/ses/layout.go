package ses

// The HTML every email shares, in the pieces between the values it holds. Email
// clients drop <style> and external sheets, so every style is inline and the layout
// is tables.
const (
	shellStart = `<!DOCTYPE html>
<html lang="`
	// then the language
	shellTitle = `" dir="ltr">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light">
<meta name="supported-color-schemes" content="light">
<title>`
	// then the subject
	shellPreheader = `</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f4f5;">
<div style="display:none;max-height:0;max-width:0;overflow:hidden;opacity:0;mso-hide:all;">`
	// then the preheader, the line inboxes show after the subject
	shellHeading = `</div>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f4f5;">
<tr>
<td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:560px;background-color:#ffffff;border:1px solid #e4e4e7;border-radius:8px;">
<tr>
<td style="padding:32px 32px 24px 32px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:24px;color:#18181b;">
<h1 style="margin:0 0 16px 0;font-size:22px;line-height:30px;font-weight:600;color:#18181b;">`
	// then the subject again, and the body
	shellFooter = `
</td>
</tr>
</table>
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:560px;">
<tr>
<td style="padding:16px 32px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:13px;line-height:20px;color:#52525b;">
`
	// then the footer
	shellEnd = `
</td>
</tr>
</table>
</td>
</tr>
</table>
</body>
</html>`

	paragraph     = `<p style="margin:0 0 16px 0;">`
	paragraphNote = `<p style="margin:0 0 8px 0;">`
	paragraphFine = `<p style="margin:0 0 16px 0;font-size:14px;line-height:20px;color:#52525b;">`
	quoteStart    = `<blockquote style="margin:0 0 16px 0;padding:12px 16px;border-left:4px solid #a1a1aa;background-color:#fafafa;color:#3f3f46;font-style:italic;">`

	buttonStart = `<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:24px 0;">
<tr>
<td align="center" style="border-radius:6px;background-color:#1d4ed8;">
<a href="`
	// then the link
	buttonLabel = `" target="_blank" rel="noopener" style="display:inline-block;padding:12px 28px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:24px;font-weight:600;color:#ffffff;text-decoration:none;border-radius:6px;">`
	// then the label, and under the button the link written out, for clients that
	// do not show it
	buttonEnd = `</a>
</td>
</tr>
</table>
` + paragraphFine
	linkStart = `<br><a href="`
	linkText  = `" style="color:#1d4ed8;word-break:break-all;">`
	linkEnd   = `</a></p>`
)
