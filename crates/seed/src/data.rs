//! Static word lists the generator picks from (no allocation per pick).
//!
//! Every name comes with an ASCII slug used to build emails and usernames.
//! Slugs are lower-case, made of `[a-z'-]`, never contain a digit and never
//! start or end with a separator: the user's index is the first run of digits
//! in a generated email local part or username, which is what makes them
//! unique.

/// A display name and its ASCII slug.
pub(crate) type Name = (&'static str, &'static str);

/// How a culture writes a full name.
pub(crate) struct Culture {
    pub given: &'static [Name],
    pub family: &'static [Name],
    /// `true`: family name first (`山田 太郎`, `李伟`).
    pub family_first: bool,
    /// Between the two parts of the full name.
    pub separator: &'static str,
    /// Relative frequency.
    pub weight: u32,
}

pub(crate) const CULTURES: &[Culture] = &[
    Culture {
        given: &[
            ("James", "james"),
            ("Mary", "mary"),
            ("Olivia", "olivia"),
            ("Liam", "liam"),
            ("Noah", "noah"),
            ("Emma", "emma"),
            ("Charlotte", "charlotte"),
            ("Benjamin", "benjamin"),
            ("Jane", "jane"),
            ("John", "john"),
            ("Patricia", "patricia"),
            ("Michael", "michael"),
            ("Elizabeth", "elizabeth"),
            ("Zoë", "zoe"),
            ("Chloé", "chloe"),
            ("Renée", "renee"),
            ("Noël", "noel"),
            ("Siobhán", "siobhan"),
            ("Seán", "sean"),
            ("Aoife", "aoife"),
            ("Mary-Kate", "mary-kate"),
            ("D'Arcy", "d'arcy"),
        ],
        family: &[
            ("Smith", "smith"),
            ("Johnson", "johnson"),
            ("Williams", "williams"),
            ("Brown", "brown"),
            ("Miller", "miller"),
            ("Davis", "davis"),
            ("Taylor", "taylor"),
            ("Doe", "doe"),
            ("O'Brien", "o'brien"),
            ("O'Connor", "o'connor"),
            ("McDonald", "mcdonald"),
            ("Smith-Jones", "smith-jones"),
            ("Nguyen", "nguyen"),
            ("Brontë", "bronte"),
        ],
        family_first: false,
        separator: " ",
        weight: 30,
    },
    Culture {
        given: &[
            ("José", "jose"),
            ("María", "maria"),
            ("Ana María", "anamaria"),
            ("Jesús", "jesus"),
            ("Ángel", "angel"),
            ("Sofía", "sofia"),
            ("Iñigo", "inigo"),
            ("João", "joao"),
            ("Conceição", "conceicao"),
            ("Begoña", "begona"),
        ],
        family: &[
            ("García", "garcia"),
            ("Rodríguez", "rodriguez"),
            ("Martínez", "martinez"),
            ("Núñez", "nunez"),
            ("Peña", "pena"),
            ("de la Cruz", "delacruz"),
            ("Gonçalves", "goncalves"),
            ("Muñoz", "munoz"),
            ("Ibáñez", "ibanez"),
        ],
        family_first: false,
        separator: " ",
        weight: 12,
    },
    Culture {
        given: &[
            ("François", "francois"),
            ("Hélène", "helene"),
            ("Jürgen", "jurgen"),
            ("Björn", "bjorn"),
            ("Søren", "soren"),
            ("Åsa", "asa"),
            ("Ævar", "aevar"),
            ("Þór", "thor"),
            ("Øystein", "oystein"),
            ("Maëlle", "maelle"),
            ("Jean-Luc", "jean-luc"),
        ],
        family: &[
            ("Müller", "muller"),
            ("Weiß", "weiss"),
            ("Schröder", "schroder"),
            ("Ærøskøbing", "aeroskobing"),
            ("Østergård", "ostergard"),
            ("Lefèvre", "lefevre"),
            ("Dubois", "dubois"),
            ("Åberg", "aberg"),
            ("von Neumann", "vonneumann"),
            ("Guðmundsdóttir", "gudmundsdottir"),
        ],
        family_first: false,
        separator: " ",
        weight: 12,
    },
    Culture {
        given: &[
            ("Łukasz", "lukasz"),
            ("Małgorzata", "malgorzata"),
            ("Wojciech", "wojciech"),
            ("Jiří", "jiri"),
            ("Dušan", "dusan"),
            ("Žofie", "zofie"),
        ],
        family: &[
            ("Łukasiewicz", "lukasiewicz"),
            ("Kowalski", "kowalski"),
            ("Dvořák", "dvorak"),
            ("Nowak", "nowak"),
            ("Wójcik", "wojcik"),
            ("Šťastný", "stastny"),
        ],
        family_first: false,
        separator: " ",
        weight: 7,
    },
    Culture {
        given: &[
            ("Дмитрий", "dmitry"),
            ("Анна", "anna"),
            ("Ольга", "olga"),
            ("Сергей", "sergey"),
        ],
        family: &[
            ("Иванов", "ivanov"),
            ("Смирнова", "smirnova"),
            ("Кузнецов", "kuznetsov"),
            ("Соколова", "sokolova"),
        ],
        family_first: false,
        separator: " ",
        weight: 4,
    },
    Culture {
        given: &[
            ("İsmail", "ismail"),
            ("Ayşe", "ayse"),
            ("Çağrı", "cagri"),
            ("Işıl", "isil"),
        ],
        family: &[
            ("Şahin", "sahin"),
            ("Yılmaz", "yilmaz"),
            ("Öztürk", "ozturk"),
            ("Kılıç", "kilic"),
        ],
        family_first: false,
        separator: " ",
        weight: 3,
    },
    Culture {
        given: &[
            ("太郎", "taro"),
            ("花子", "hanako"),
            ("翔太", "shota"),
            ("さくら", "sakura"),
            ("健", "ken"),
            ("ユイ", "yui"),
        ],
        family: &[
            ("山田", "yamada"),
            ("佐藤", "sato"),
            ("鈴木", "suzuki"),
            ("高橋", "takahashi"),
            ("田中", "tanaka"),
            ("渡辺", "watanabe"),
        ],
        family_first: true,
        separator: " ",
        weight: 6,
    },
    Culture {
        given: &[
            ("伟", "wei"),
            ("芳", "fang"),
            ("秀英", "xiuying"),
            ("明", "ming"),
            ("静", "jing"),
        ],
        family: &[
            ("李", "li"),
            ("王", "wang"),
            ("张", "zhang"),
            ("刘", "liu"),
            ("陈", "chen"),
            ("欧阳", "ouyang"),
        ],
        family_first: true,
        separator: "",
        weight: 5,
    },
    Culture {
        given: &[("지민", "jimin"), ("서연", "seoyeon"), ("민준", "minjun")],
        family: &[("김", "kim"), ("이", "lee"), ("박", "park"), ("최", "choi")],
        family_first: true,
        separator: "",
        weight: 3,
    },
    Culture {
        given: &[
            ("محمد", "mohammed"),
            ("فاطمة", "fatima"),
            ("أحمد", "ahmed"),
            ("عائشة", "aisha"),
            ("يوسف", "youssef"),
            ("نور", "nour"),
        ],
        family: &[
            ("عبد الله", "abdullah"),
            ("الحسن", "alhassan"),
            ("منصور", "mansour"),
            ("حداد", "haddad"),
        ],
        family_first: false,
        separator: " ",
        weight: 5,
    },
    Culture {
        given: &[
            ("דוד", "david"),
            ("שרה", "sarah"),
            ("יעל", "yael"),
            ("נועם", "noam"),
        ],
        family: &[("כהן", "cohen"), ("לוי", "levi"), ("מזרחי", "mizrahi")],
        family_first: false,
        separator: " ",
        weight: 3,
    },
    Culture {
        given: &[
            ("Αλέξανδρος", "alexandros"),
            ("Ελένη", "eleni"),
            ("Γιώργος", "giorgos"),
        ],
        family: &[("Παπαδόπουλος", "papadopoulos"), ("Οικονόμου", "oikonomou")],
        family_first: false,
        separator: " ",
        weight: 2,
    },
    Culture {
        given: &[
            ("Văn An", "vanan"),
            ("Thảo", "thao"),
            ("Đức", "duc"),
            ("Hương", "huong"),
        ],
        family: &[
            ("Nguyễn", "nguyen"),
            ("Trần", "tran"),
            ("Lê", "le"),
            ("Phạm", "pham"),
        ],
        family_first: true,
        separator: " ",
        weight: 3,
    },
    Culture {
        given: &[
            ("प्रिया", "priya"),
            ("अर्जुन", "arjun"),
            ("Aarav", "aarav"),
            ("Ananya", "ananya"),
        ],
        family: &[
            ("Sharma", "sharma"),
            ("Patel", "patel"),
            ("शर्मा", "sharma"),
            ("Iyer", "iyer"),
        ],
        family_first: false,
        separator: " ",
        weight: 3,
    },
    // Decomposed (NFD) spellings: base letter + combining mark. They look the
    // same as the precomposed names above but compare differently.
    Culture {
        given: &[
            ("Zoe\u{0308}", "zoe"),
            ("Jose\u{0301}", "jose"),
            ("Rene\u{0301}e", "renee"),
            ("A\u{030A}sa", "asa"),
            ("Lukas\u{030C}", "lukas"),
        ],
        family: &[
            ("Mu\u{0308}ller", "muller"),
            ("Garci\u{0301}a", "garcia"),
            ("Dvor\u{030C}a\u{0301}k", "dvorak"),
            ("Ærøskøbing", "aeroskobing"),
        ],
        family_first: false,
        separator: " ",
        weight: 2,
    },
];

/// Sum of the culture weights.
pub(crate) const CULTURE_WEIGHT: u32 = {
    let mut total = 0;
    let mut i = 0;
    while i < CULTURES.len() {
        total += CULTURES[i].weight;
        i += 1;
    }
    total
};

/// Emoji, including ZWJ sequences, skin tones, flags and variation selectors.
pub(crate) const EMOJI: &[&str] = &[
    "🦀",
    "👩\u{200D}💻",
    "👨\u{200D}👩\u{200D}👧\u{200D}👦",
    "🇯🇵",
    "👍🏽",
    "🏳\u{FE0F}\u{200D}🌈",
    "✨",
    "🎉",
    "😀",
    "🧑🏿\u{200D}🚀",
    "🌸",
];

/// Values meant to break naive exporters: CSV delimiters and quotes, line
/// breaks, spreadsheet formula starters, invisible and bidi characters,
/// "magic" words. All are valid profile names (1–150 characters).
pub(crate) const HOSTILE: &[&str] = &[
    "=HYPERLINK(\"http://x\")",
    "=HYPERLINK(\"http://x\",\"click me\")",
    "=1+2",
    "=cmd|' /C calc'!A0",
    "+plus",
    "+1-555-0100",
    "-dash",
    "-",
    "-1",
    "@handle",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\ttab-first",
    "\rcr-first",
    "O\"Brien",
    "\"quoted\"",
    "Smith, Jr.",
    "semi;colon",
    "tab\tinside",
    "line\nfeed",
    "carriage\rreturn",
    "crlf\r\nline",
    "trailing newline\n",
    "a,b;c\td\"e\r\nf'g",
    "  padded  ",
    "\u{FEFF}bom",
    "zero\u{200B}width",
    "\u{202E}gnp.exe",
    "line\u{2028}separator",
    "NULL",
    "null",
    "undefined",
    "N/A",
    "0012345",
    "1e5",
    "true",
    "<script>alert(1)</script>",
    "Robert'); DROP TABLE users;--",
    "C:\\Users\\x",
    "\\\"escaped\\\"",
    "Z\u{0324}\u{0354}\u{0367}\u{0311}a\u{0308}\u{0356}l\u{036E}\u{0312}g\u{030C}o\u{0319}\u{0314}",
    "𝕳𝖊𝖑𝖑𝖔",
    "\u{5C71}\u{7530}\t\u{592A}\u{90CE}",
    "محمد\r\nדוד",
];

/// Free-text notes for metadata, the hostile ones are [`HOSTILE`].
pub(crate) const NOTES: &[&str] = &[
    "Prefers email contact.",
    "VIP since 2021; call before 5pm",
    "Moved from the legacy CRM",
    "Llamar por la tarde, por favor",
    "ご連絡はメールでお願いします",
    "يفضل التواصل عبر البريد",
    "Allergic to 🥜",
];

pub(crate) const EMAIL_DOMAINS: &[&str] = &[
    "example.com",
    "example.com",
    "example.com",
    "example.org",
    "example.net",
    "mail.example.com",
    "corp.example.org",
    "eu.mail.example.net",
    "uk.example",
];

/// Internationalised domains (UTF-8), used rarely.
pub(crate) const IDN_DOMAINS: &[&str] =
    &["bücher.example", "例え.example", "xn--bcher-kva.example"];

/// Plus-address tags (digit-free).
pub(crate) const EMAIL_TAGS: &[&str] = &["news", "shop", "test", "spam", "work"];

pub(crate) const LANGUAGES: &[&str] = &[
    "en-US", "en-GB", "fr-FR", "de-DE", "es-ES", "pt-BR", "ja-JP", "zh-CN", "ar-EG", "he-IL",
];

pub(crate) const TIMEZONES: &[&str] = &[
    "Europe/Paris",
    "America/New_York",
    "Asia/Tokyo",
    "America/Argentina/Buenos_Aires",
    "Asia/Kolkata",
    "UTC",
    "Australia/Lord_Howe",
];

/// (city, postal code as text — leading zeros matter, country).
pub(crate) const CITIES: &[(&str, &str, &str)] = &[
    ("Zürich", "8001", "CH"),
    ("東京", "100-0001", "JP"),
    ("São Paulo", "01310-100", "BR"),
    ("Boston", "02108", "US"),
    ("Kraków", "31-001", "PL"),
    ("القاهرة", "11511", "EG"),
    ("תל אביב-יפו", "6100000", "IL"),
    ("Ærøskøbing", "5970", "DK"),
    ("Washington, D.C.", "20001", "US"),
];

pub(crate) const STREETS: &[&str] = &[
    "1 Main St",
    "Bahnhofstrasse 12",
    "221B Baker Street",
    "Rua Augusta, 1500 - apto 42",
    "ul. Floriańska 3/5",
    "千代田1-1",
    "\"The Old Mill\", Lane 4",
];

pub(crate) const ROLES: &[&str] = &["admin", "editor", "viewer", "billing", "support", "owner"];

pub(crate) const PLANS: &[&str] = &["free", "starter", "premium", "enterprise"];

pub(crate) const ORGS: &[&str] = &[
    "Acme, Inc.",
    "Globex Corporation",
    "Initech; Ltd",
    "Müller & Söhne GmbH",
    "株式会社サンプル",
    "\"Quoted\" Holdings",
];

pub(crate) const SIGNUP_SOURCES: &[&str] = &["web", "ios", "android", "import", "partner"];

/// Bcrypt's base-64 alphabet.
pub(crate) const BCRYPT_ALPHABET: &[u8] =
    b"./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// Base32 alphabet of TOTP secrets.
pub(crate) const BASE32_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
