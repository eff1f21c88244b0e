from typing import NamedTuple


class NamedPattern(NamedTuple):
    """One refusal pattern: a stable name (for `rule` and config `disable`), its regex, and its first words.

    `starts` lists the lower-case first words a match can begin with; sentences starting with any
    other word skip the regex, which keeps ingest fast. Leave it empty to always try the pattern.
    """

    name: str
    regex: str
    starts: tuple[str, ...] = ()


# Patterns are written in lower case: they run against a lower-cased copy of the answer, at the start
# of a sentence, after an optional apologetic lead-in (LEAD_IN). The whole rule is in classify.py.
_APOS = "['’]"
_CJK_FIRST = "(?=[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef])"
_I_AM = rf"(?:i{_APOS}m|i\s+am)"
# "I" followed by a negated ability or willingness: "I can't", "I'm unable to", "I don't think I should".
_I_NEG = (
    rf"i(?:\s+(?:(?:can{_APOS}?t|cannot)\s+and\s+(?:will\s+not|won{_APOS}t)|can{_APOS}?t|cannot|can\s+not"
    rf"|won{_APOS}t|will\s+not|couldn{_APOS}t|could\s+not"
    rf"|am\s+not\s+able\s+to|am\s+unable\s+to|am\s+not\s+going\s+to|shouldn{_APOS}t|should\s+not"
    rf"|(?:don{_APOS}t|do\s+not)\s+think\s+i\s+(?:can|should|could))"
    rf"|{_APOS}m\s+(?:not\s+able\s+to|unable\s+to|not\s+going\s+to)|{_APOS}ll\s+not)"
)
_REQUEST = r"(?:this|that|your|the|such\s+a)\s+(?:request|task|action|operation)"
# What a decline declines: helping, producing, disclosing, or acting on the user's behalf.
_HELP_VERBS = (
    r"(?:help(?!\s+but\b)|assist|provide|offer|give|share|disclose|reveal|fulfil|fulfill|comply"
    r"|create|generate|write|draft|produce|compose|engage|participate|support\s+(?:that|this|you)"
    r"|answer|respond|discuss|go\s+along|do\s+(?:that|this|so|it|what|anything)"
    r"|be\s+of\s+(?:help|assistance|service)|aid"
    r"|summari[sz]e|translate|explain\s+how|walk\s+you\s+through|tell\s+you\s+how|recommend\s+ways"
    rf"|(?:complete|process|carry\s+out|perform|proceed\s+with|continue\s+with)\s+{_REQUEST}"
    r"|continue\s+(?:this|the|our)\s+conversation"
    r"|make\s+(?:that|this|those|these|such)|reset|delete|remove|cancel|refund|approve|grant|bypass"
    r"|override|unlock|disable|circumvent|get\s+around|impersonate|look\s+up|retrieve)"
)

# Apologetic or softening openers allowed before the decline itself ("Unfortunately, ...").
# A word or two ("Unfortunately", "I'm sorry") with an optional separator, or a clause ("I understand
# this is urgent,", "Thanks for asking -") that must end at a separator: the clause scan only hands
# over to the patterns at a comma or dash, which keeps it from backtracking through every position.
LEAD_IN = (
    r"(?:(?:(?:unfortunately|regrettably|sadly|sorry|apologies|my\s+apologies|i\s+apologi[sz]e"
    rf"|{_I_AM}\s+(?:so\s+|very\s+|really\s+|truly\s+)?sorry(?:\s+to\s+say)?"
    rf"|{_I_AM}\s+afraid|however|but|no|nope|okay|ok|hmm|well|honestly)\s*[,!.—–:-]?"
    r"|(?:i\s+(?:understand|appreciate|see|hear)|while\s+i\s+(?:understand|appreciate)|thanks|thank\s+you"
    r"|as\s+an?)\b[^.!?\n]{0,100}?(?:,|\s?[—–]|\s-))"
    r"\s*(?:but\s+|however,?\s+|unfortunately,?\s+|sadly,?\s+)?){0,3}"
)
# In `starts`, this stands for any first word written in CJK characters or kana (no spaces there).
ANY_CJK = "<cjk>"
LEAD_IN_STARTS: tuple[str, ...] = (
    "unfortunately", "regrettably", "sadly", "sorry", "apologies", "my", "i", "however", "but", "no",
    "nope", "okay", "ok", "hmm", "well", "honestly", "thanks", "thank", "while", "as",
)  # fmt: skip

DEFAULT_PATTERNS: tuple[NamedPattern, ...] = (
    # "I can't help with that", "I won't be able to assist", "I am unable to provide ..."
    NamedPattern(
        "cannot_help",
        rf"{_I_NEG}(?:\s+(?:really\s+|simply\s+|just\s+|actually\s+|directly\s+)?"
        rf"(?:be\s+able\s+to\s+)?{_HELP_VERBS}\b|\s*[.!](?:\s|$)|\s*$)",
        ("i",),
    ),
    # "As an AI, I cannot ...", "As an AI language model, I don't ..."
    NamedPattern(
        "as_an_ai",
        r"as\s+an?\s+(?:ai|artificial\s+intelligence|language\s+model|llm)(?:\s+(?:language\s+)?model"
        rf"|\s+assistant)?\s*,?\s+(?:{_I_NEG}|i\s+(?:don{_APOS}t|do\s+not|am\s+not)|i{_APOS}m\s+not)\b",
        ("as",),
    ),
    # "This request violates our usage policy", "Your prompt goes against our content guidelines"
    NamedPattern(
        "policy_violation",
        r"(?:this|that|your|the)\s+(?:request|prompt|question|message|query|content|input|ask|task)"
        r"\s+(?:(?:appears|seems)\s+to\s+|may\s+|might\s+|would\s+|could\s+)?"
        r"(?:violates?|goes?\s+against|is\s+against|be\s+against|conflicts?\s+with|breach(?:es)?"
        rf"|(?:is\s+not|isn{_APOS}t)\s+(?:allowed|permitted)\s+(?:under|by)"
        r"|falls?\s+under)\s+(?:(?:our|my|the|these|its|openai['’]s|anthropic['’]s|google['’]s)\s+)?"
        r"(?:(?:usage|content|safety|acceptable[\s-]+use|use|community|moderation)\s+)?"
        r"(?:polic(?:y|ies)|guidelines|terms|rules|restrictions|standards|prohibited|restricted)",
        ("this", "that", "your", "the"),
    ),
    # "That goes against my guidelines", "It would be against our usage policies"
    NamedPattern(
        "against_guidelines",
        rf"(?:that|this|it|doing\s+(?:that|so))(?:{_APOS}s|\s+is|\s+would\s+be|\s+goes|\s+would\s+go)"
        r"\s+against\s+(?:my|our|the|openai|anthropic|google)\S*\s+"
        r"(?:(?:usage|content|safety|acceptable\s+use)\s+)?"
        r"(?:guidelines|polic(?:y|ies)|rules|terms|principles)",
        ("that", "this", "it", "doing"),
    ),
    # "I must decline", "I'll have to decline this request", "I respectfully decline"
    NamedPattern(
        "must_decline",
        rf"i(?:\s+(?:must|have\s+to|need\s+to|will\s+have\s+to|am\s+going\s+to(?:\s+have\s+to)?|will)"
        rf"|{_APOS}(?:ll|d)\s+have\s+to|{_APOS}m\s+going\s+to(?:\s+have\s+to)?|{_APOS}ll)?"
        r"\s+(?:respectfully\s+|politely\s+)?(?:decline|refuse)\b",
        ("i",),
    ),
    # "I'm not comfortable helping with that", "I don't feel comfortable writing ..."
    NamedPattern(
        "not_comfortable",
        rf"(?:{_I_AM}\s+not|i\s+(?:don{_APOS}t|do\s+not)\s+feel)\s+comfortable\s+"
        r"(?:help|assist|provid|writ|creat|generat|shar|do|produc|with|answer|giv|draft)",
        ("i",),
    ),
    # "It wouldn't be appropriate for me to ..."
    NamedPattern(
        "not_appropriate",
        rf"it(?:{_APOS}s\s+not|\s+is\s+not|\s+isn{_APOS}t|\s+wouldn{_APOS}t\s+be|\s+would\s+not\s+be"
        r"|\s+would\s+be\s+inappropriate|\s+is\s+inappropriate)"
        r"\s*(?:appropriate\s+)?(?:for\s+me\s+to|to\s+(?:help|assist|provide))",
        ("it",),
    ),
    # "I'm not allowed to", "I'm not permitted to share", "My guidelines don't allow me to"
    NamedPattern(
        "not_permitted",
        rf"(?:{_I_AM}\s+not\s+(?:allowed|permitted|authori[sz]ed|able\s+or\s+allowed)\s+to"
        rf"|(?:my|our)\s+(?:guidelines|policies|policy|rules|instructions)\s+(?:don{_APOS}t|do\s+not"
        rf"|doesn{_APOS}t|does\s+not|won{_APOS}t|prevent|prohibit|forbid|restrict)"
        r"\s+(?:allow\s+|let\s+|permit\s+)?me)",
        ("i", "my", "our"),
    ),
    # "That's not something I can help with", "This isn't something I'm able to do"
    NamedPattern(
        "not_something_i_can",
        r"(?:that|this|it)(?:\s+(?:request|question|task|topic|one))?"
        rf"(?:{_APOS}s\s+not|\s+is\s+not|\s+isn{_APOS}t|{_APOS}s\s+just\s+not)\s+"
        r"(?:something|a\s+(?:request|task|topic|thing))\s+(?:that\s+)?"
        rf"(?:i|we)\s*(?:can|could|am|{_APOS}m|will|do)",
        ("that", "this", "it"),
    ),
    # "That's outside the scope of what I can help with", "This falls outside what I can do"
    NamedPattern(
        "out_of_scope",
        rf"(?:that|this|your\s+(?:request|question))(?:{_APOS}s|\s+is|\s+falls|\s+request\s+(?:is|falls)"
        r"|\s+question\s+(?:is|falls)|\s+is\s+a\s+bit)\s+(?:outside|beyond)\s+(?:of\s+)?"
        r"(?:what\s+i|the\s+scope|my\s+(?:scope|remit|capabilities|abilities)"
        r"|what\s+(?:this|our)\s+assistant)",
        ("that", "this", "your"),
    ),
    # "I can only help with questions about Acme"
    NamedPattern(
        "only_help_with",
        rf"i(?:\s+can\s+only|\s+am\s+only\s+able\s+to|{_APOS}m\s+only\s+able\s+to|{_APOS}m\s+only\s+here\s+to"
        r"|\s+only)\s+(?:help|assist|answer|discuss|provide\s+(?:help|information|support))\s+"
        r"(?:you\s+)?(?:with|questions|about)",
        ("i",),
    ),
    # "I'm not in a position to ...", "I'd rather not help with ..."
    NamedPattern(
        "not_in_position",
        rf"(?:{_I_AM}\s+not\s+in\s+a\s+position\s+to|i{_APOS}d\s+(?:rather|prefer)\s+not\s+(?:to\s+)?"
        r"(?:help|assist|write|create|provide|share|do|get\s+involved))",
        ("i",),
    ),
    # "I don't have the ability to ...", "I'm not designed to ..."
    NamedPattern(
        "no_ability",
        rf"(?:i\s+(?:don{_APOS}t|do\s+not)\s+have\s+(?:the\s+)?"
        r"(?:ability|permission|authority|capability)\s+to"
        rf"|{_I_AM}\s+not\s+(?:designed|programmed|built|set\s+up)\s+to)",
        ("i",),
    ),
    # "Providing that information would violate our privacy policy"
    NamedPattern(
        "would_violate",
        r"(?:doing|providing|sharing|writing|creating|generating|answering|helping|disclosing|giving)"
        r"\s+[^.!?\n]{0,60}?\s+(?:would|could|may|might)\s+(?:violate|go\s+against|be\s+against|breach)\s+"
        r"(?:(?:our|my|the|its|your\s+company['’]s)\s+)?(?:\w+\s+)?(?:polic(?:y|ies)|guidelines|terms|rules)",
        (
            "doing",
            "providing",
            "sharing",
            "writing",
            "creating",
            "generating",
            "answering",
            "helping",
            "disclosing",
            "giving",
        ),
    ),
    # Spanish: "Lo siento, pero no puedo ayudar con eso"
    NamedPattern(
        "lang_es",
        r"(?:lo\s+siento(?:\s+mucho)?,?\s+(?:pero\s+)?|lamentablemente,?\s+|disculpa,?\s+(?:pero\s+)?)?"
        r"no\s+(?:puedo|me\s+es\s+posible|estoy\s+en\s+condiciones\s+de|podré)\s+"
        r"(?:ayudar|asistir|proporcionar|facilitar|cumplir|hacer\s+eso|responder|generar|crear|escribir)",
        ("lo", "lamentablemente", "disculpa", "no"),
    ),
    # French: "Je suis désolé, mais je ne peux pas vous aider"
    NamedPattern(
        "lang_fr",
        r"(?:je\s+suis\s+(?:vraiment\s+)?désolée?,?\s+(?:mais\s+)?|désolée?,?\s+(?:mais\s+)?"
        r"|malheureusement,?\s+)?je\s+ne\s+(?:peux|suis|pourrai)\s+pas\s+(?:en\s+mesure\s+de\s+)?"
        r"(?:vous\s+|t['’]\s*)?(?:aider|assister|fournir|répondre|donner|générer|créer|rédiger|faire\s+cela)",
        ("je", "désolé", "désolée", "malheureusement"),
    ),
    # German: "Es tut mir leid, aber ich kann Ihnen dabei nicht helfen"
    NamedPattern(
        "lang_de",
        r"(?:es\s+tut\s+mir\s+leid,?\s+(?:aber\s+)?|leider\s+)?(?:ich\s+kann|kann\s+ich)\s+"
        r"(?:ihnen|dir)?\s*(?:dabei|damit|hierbei|diese\s+anfrage|das|diese)?\s*(?:leider\s+)?"
        r"(?:nicht|keine)\s+(?:\w+\s+){0,2}?"
        r"(?:helfen|unterstützen|erfüllen|bereitstellen|beantworten|geben|erstellen|schreiben)",
        ("es", "leider", "ich", "kann"),
    ),
    # Portuguese: "Desculpe, mas não posso ajudar com isso"
    NamedPattern(
        "lang_pt",
        r"(?:desculpe?,?\s+(?:mas\s+)?|sinto\s+muito,?\s+(?:mas\s+)?|infelizmente,?\s+)?"
        r"(?:eu\s+)?não\s+(?:posso|consigo|poderei)\s+(?:te\s+|lhe\s+)?"
        r"(?:ajudar|auxiliar|fornecer|atender|cumprir|responder|gerar|criar|escrever|fazer\s+isso)",
        ("desculpe", "desculpa", "sinto", "infelizmente", "eu", "não"),
    ),
    # Italian: "Mi dispiace, ma non posso aiutarti con questo"
    NamedPattern(
        "lang_it",
        r"(?:mi\s+dispiace,?\s+(?:ma\s+)?|purtroppo,?\s+|spiacente,?\s+(?:ma\s+)?)?"
        r"non\s+(?:posso|sono\s+in\s+grado\s+di|riesco\s+a)\s+"
        r"(?:aiutar|assister|fornire|rispondere|soddisfare|generare|creare|scrivere|farlo)",
        ("mi", "purtroppo", "spiacente", "non"),
    ),
    # Japanese: "申し訳ありませんが、そのご依頼にはお応えできません"
    NamedPattern(
        "lang_ja",
        rf"{_CJK_FIRST}[^。！？\n]{{0,40}}?"
        r"(?:お手伝い|お応え|対応|回答|提供|支援|お答え)(?:することは|は)?(?:でき(?:ません|かねます)|いたしかねます)",
        (ANY_CJK,),
    ),
    # Chinese: "抱歉，我无法帮助你完成这个请求"
    NamedPattern(
        "lang_zh",
        rf"{_CJK_FIRST}[^。！？\n]{{0,20}}?我(?:无法|不能|没办法|不可以)(?:[^。！？\n]{{0,6}}?)"
        r"(?:帮助|协助|提供|回答|满足|完成|生成|编写|处理)",
        (ANY_CJK,),
    ),
)
