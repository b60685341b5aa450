"""RFC 3261 §25 grammar: each ABNF rule quoted above the regular expression that implements it.

Header values reach these patterns already unfolded (§7.3.1: a CRLF followed by whitespace
becomes one SP), so LWS and SWS reduce to runs of SP / HTAB here. Every pattern is linear: no
nested quantifier can match the same text two ways, so hostile input cannot make one blow up.
"""

import re

# token = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" )
TOKEN = r"[A-Za-z0-9\-.!%*_+`'~]+"
TOKEN_RE = re.compile(TOKEN)

# quoted-string = SWS DQUOTE *(qdtext / quoted-pair ) DQUOTE
# qdtext        = LWS / %x21 / %x23-5B / %x5D-7E / UTF8-NONASCII
# quoted-pair   = "\" (%x00-09 / %x0B-0C / %x0E-7F)
QUOTED_STRING = r'"(?:[^"\\\r\n]|\\[^\r\n])*"'
QUOTED_PAIR_RE = re.compile(r"\\(.)", re.S)

# escaped = "%" HEXDIG HEXDIG
ESCAPED = r"%[0-9A-Fa-f]{2}"
# unreserved = alphanum / mark;  mark = "-" / "_" / "." / "!" / "~" / "*" / "'" / "(" / ")"
UNRESERVED = r"A-Za-z0-9\-_.!~*'()"

# user = 1*( unreserved / escaped / user-unreserved )
# user-unreserved = "&" / "=" / "+" / "$" / "," / ";" / "?" / "/"
USER_RE = re.compile(rf"(?:[{UNRESERVED}&=+$,;?/]|{ESCAPED})+")
# password = *( unreserved / escaped / "&" / "=" / "+" / "$" / "," )
PASSWORD_RE = re.compile(rf"(?:[{UNRESERVED}&=+$,]|{ESCAPED})*")

# hostname      = *( domainlabel "." ) toplabel [ "." ]   (domainlabel: alphanum and "-")
# IPv4address   = 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT "." 1*3DIGIT
# IPv6reference = "[" IPv6address "]"
HOST = r"\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9\-.]*"
# port = 1*DIGIT  (kept to five digits; the value is checked against 65535)
PORT = r"[0-9]{1,5}"

# uri-parameters = *( ";" uri-parameter );  other-param = pname [ "=" pvalue ]
# pname / pvalue = 1*paramchar;  paramchar = param-unreserved / unreserved / escaped
# param-unreserved = "[" / "]" / "/" / ":" / "&" / "+" / "$"
PARAMCHARS = rf"(?:[{UNRESERVED}\[\]/:&+$]|{ESCAPED})+"
# headers = "?" header *( "&" header );  header = hname "=" hvalue
# hname = 1*( hnv-unreserved / unreserved / escaped );  hvalue = *( ... )
# hnv-unreserved = "[" / "]" / "/" / "?" / ":" / "+" / "$"
HNVCHARS = rf"(?:[{UNRESERVED}\[\]/?:+$]|{ESCAPED})"

# SIP-URI after "sip:" / "sips:" and after the userinfo "@":
#   hostport uri-parameters [ headers ]
SIP_HOSTPART_RE = re.compile(
    rf"({HOST})(?::({PORT}))?((?:;{PARAMCHARS}(?:={PARAMCHARS})?)*)"
    rf"(?:\?({HNVCHARS}+={HNVCHARS}*(?:&{HNVCHARS}+={HNVCHARS}*)*))?"
)

# scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
SCHEME_RE = re.compile(r"([A-Za-z][A-Za-z0-9+\-.]*):")
# absoluteURI = scheme ":" ( hier-part / opaque-part );  uric = reserved / unreserved / escaped
# reserved = ";" / "/" / "?" / ":" / "@" / "&" / "=" / "+" / "$" / ","
OPAQUE_RE = re.compile(rf"(?:[{UNRESERVED};/?:@&=+$,]|{ESCAPED})+")

# RFC 3966: telephone-subscriber = global-number / local-number, then *par
TEL_RE = re.compile(rf"([0-9A-Fa-f*#+.\-()]+)((?:;[A-Za-z0-9\-]+(?:={PARAMCHARS})?)*)")

# generic-param = token [ EQUAL gen-value ];  gen-value = token / host / quoted-string
# EQUAL = SWS "=" SWS;  SEMI = SWS ";" SWS.  (Via received= is a bare IPv6address, hence ":")
GENERIC_PARAM = (
    rf"[ \t]*;[ \t]*({TOKEN})(?:[ \t]*=[ \t]*([A-Za-z0-9\-.!%*_+`'~:\[\]]+|{QUOTED_STRING}))?"
)
GENERIC_PARAM_RE = re.compile(GENERIC_PARAM)
GENERIC_PARAMS_RE = re.compile(rf"(?:{GENERIC_PARAM})*[ \t]*")

# via-parm      = sent-protocol LWS sent-by *( SEMI via-params )
# sent-protocol = protocol-name SLASH protocol-version SLASH transport;  SLASH = SWS "/" SWS
# sent-by       = host [ COLON port ]
VIA_RE = re.compile(
    rf"({TOKEN})[ \t]*/[ \t]*({TOKEN})[ \t]*/[ \t]*({TOKEN})[ \t]+({HOST})"
    rf"(?:[ \t]*:[ \t]*({PORT}))?"
)

# name-addr    = [ display-name ] LAQUOT addr-spec RAQUOT
# display-name = *(token LWS)/ quoted-string
QUOTED_STRING_RE = re.compile(QUOTED_STRING)
DISPLAY_TOKENS_RE = re.compile(rf"{TOKEN}(?:[ \t]+{TOKEN})*")

# CSeq = "CSeq" HCOLON 1*DIGIT LWS Method
CSEQ_RE = re.compile(rf"0*([0-9]{{1,10}})[ \t]+({TOKEN})")
# callid = word [ "@" word ]
# word   = 1*(alphanum / "-" / "." / "!" / "%" / "*" / "_" / "+" / "`" / "'" / "~" /
#          "(" / ")" / "<" / ">" / ":" / "\" / DQUOTE / "/" / "[" / "]" / "?" / "{" / "}" )
WORD = r"[A-Za-z0-9\-.!%*_+`'~()<>:\\\"/\[\]?{}]+"
CALL_ID_RE = re.compile(rf"{WORD}(?:@{WORD})?")
# delta-seconds, Max-Forwards, Content-Length: 1*DIGIT (leading zeros aside, ten digits at most)
DIGITS_RE = re.compile(r"0*[0-9]{1,10}")

# Request-Line = Method SP Request-URI SP SIP-Version CRLF
# SIP-Version  = "SIP" "/" 1*DIGIT "." 1*DIGIT
REQUEST_LINE_RE = re.compile(rf"({TOKEN}) ([^ \t]+) [Ss][Ii][Pp]/([0-9]+\.[0-9]+)")
# Status-Line   = SIP-Version SP Status-Code SP Reason-Phrase CRLF
# Reason-Phrase = *(reserved / unreserved / escaped / UTF8-NONASCII / UTF8-CONT / SP / HTAB)
STATUS_LINE_RE = re.compile(
    r"[Ss][Ii][Pp]/([0-9]+\.[0-9]+) ([0-9]{3})(?: ([^\x00-\x08\x0a-\x1f\x7f]*))?"
)

# message-header = field-name HCOLON field-value CRLF;  HCOLON = *( SP / HTAB ) ":" SWS
# Anchored at line starts, so a line that is not a header field yields no match at all.
HEADER_FIELD_RE = re.compile(rf"^({TOKEN})[ \t]*:([^\r\n]*)(?:\r\n|\Z)", re.M)
# A CRLF followed by whitespace is folding (§7.3.1).
FOLDING_RE = re.compile(r"\r\n[ \t]+")
