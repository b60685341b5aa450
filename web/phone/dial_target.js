// What the dial field holds, as the SIP URI to call: a SIP URI as it is, user@host as a SIP
// URI, and a user name or a number (spaces, dots, dashes and brackets dropped) in our domain,
// where the server's routing decides what it is (an endpoint, a number, an application).
const PHONE_NUMBER = /^\+?[\d\s().-]+$/;

export function targetUri(text, domain) {
  const target = text.trim();
  if (/^sips?:/i.test(target)) return target;
  if (target.includes("@")) return `sip:${target}`;
  const user = PHONE_NUMBER.test(target) ? target.replace(/[^\d+]/g, "") : target;
  return `sip:${user}@${domain}`;
}

// The user part of a SIP URI, or the URI itself: how a caller or callee is named on screen.
export function displayName(identity) {
  const name = identity.display_name;
  return name || identity.uri.user || identity.uri.toString();
}
