"""The sample files in tests/samples/: real-looking mail (voicemail and contact-form
notifications) and contacts exports; and what each voicemail and form says, for the tests
that take them in or explain them."""

from __future__ import annotations

from pathlib import Path

SAMPLES = Path(__file__).resolve().parents[1] / "samples"
CONTACTS = SAMPLES / "contacts"

# voicemail sample -> (caller's name as the system gives it, number in E.164, the same
# number as a client's card has it: national, so the user's phone_region matters)
CALLERS: dict[str, tuple[str | None, str, str]] = {
    "3cx.eml": ("Oliver Grant", "+13125550166", "(312) 555-0166"),
    "asterisk.eml": ("Marcus Bell", "+16175550142", "617-555-0142"),
    "asterisk-not-a-client.eml": ("Rosalind Okafor", "+13125550199", "312 555 0199"),
    "freepbx.eml": ("Marisol Vega", "+16175550123", "(617) 555-0123"),
    "google-voice.eml": (None, "+19175550134", "917.555.0134"),
    "ringcentral.eml": (None, "+16505550117", "650-555-0117"),
    "teams.eml": ("Elena Petrova", "+13125550187", "312-555-0187"),
    "freeswitch.eml": ("Nora Castellanos", "+15125550178", "(512) 555-0178"),
    "freeswitch-notify.eml": ("ACME Corp", "+14155550136", "415-555-0136"),
    "freeswitch-legacy.eml": (None, "+16465550119", "646.555.0119"),
}
WITHHELD = "asterisk-withheld.eml"
LABELS = {"3cx.eml": "3CX voicemail", "asterisk.eml": "Asterisk voicemail",
          "asterisk-not-a-client.eml": "Asterisk voicemail", WITHHELD: "Asterisk voicemail",
          "freepbx.eml": "FreePBX voicemail", "google-voice.eml": "Google Voice voicemail",
          "ringcentral.eml": "RingCentral voicemail", "teams.eml": "Microsoft Teams voicemail",
          "freeswitch.eml": "FreeSWITCH voicemail", "freeswitch-notify.eml": "FreeSWITCH voicemail",
          "freeswitch-legacy.eml": "FreeSWITCH voicemail"}

# contact-form sample -> (submitter's name, submitter's address, form's label)
SUBMITTERS: dict[str, tuple[str, str, str]] = {
    "cf7.eml": ("Amelia Brooks", "amelia.brooks@example.net", "WordPress Contact Form 7"),
    "cf7-other-address-in-message.eml": ("Jonas Weber", "jonas.weber@example.org",
                                         "WordPress Contact Form 7"),
    "google-forms.eml": ("Priya Raman", "priya.raman@example.com", "Google Forms"),
    "gravity-forms.eml": ("Hiroshi Tanaka", "h.tanaka@example.jp", "Gravity Forms"),
    "squarespace.eml": ("Nadia Haddad", "nadia.haddad@example.org", "Squarespace form"),
    "wix.eml": ("Carmen Ruiz", "carmen.ruiz@example.com", "Wix form"),
    "wpforms.eml": ("Samuel Otieno", "samuel.otieno@example.com", "WPForms"),
}
NO_EMAIL = "squarespace-no-email-field.eml"
NO_EMAIL_CALLER = ("Walter Nguyen", "+15035550191")


def voicemail(name: str) -> Path:
    return SAMPLES / "voicemail" / name


def form(name: str) -> Path:
    return SAMPLES / "contact_forms" / name
