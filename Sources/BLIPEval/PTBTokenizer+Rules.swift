import Foundation

// The lexer rules of CoreNLP 3.4.1's PTBLexer as run by `PTBTokenizer -preserveLines -lowerCase`
// (its default options: PTB3 escaping of brackets, quotes, dashes, ellipses, fractions, currency
// and `&amp;`; no americanisation; no slash/asterisk escaping; "traditional" Treebank 3 mode),
// re-expressed in the pattern syntax of `PTBTokenizer+Pattern.swift`. Order matters: of the
// longest matches, the first rule listed wins.

extension PTBTokenizer {
    /// What a rule does with the text it matched.
    enum Action: Sendable {
        case keep                     // the text itself
        case softHyphens              // the text without U+00AD (or "-" if nothing is left)
        case skip                     // no token
        case newline                  // a line break (not a token)
        case literal(String)          // a fixed token
        case pushBack(Int)            // the text but its last n units, which are read again
        case reduplicatePeriod        // the text, then its final period is read again
        case acronymBeforeSentence    // as above, but a one-letter acronym loses its period
        case quotes(left: Bool)       // LaTeX-style quotes
        case ampersand                // `&amp;` becomes `&`
        case spaces                   // spaces become U+00A0
        case phone                    // spaces become U+00A0, parentheses -LRB- / -RRB-
        case parentheses              // parentheses become -LRB- / -RRB-
        case fractions                // ¼ ½ ¾ ⅓ ⅔ become 1/4 1/2 3/4 1/3 2/3
        case currency                 // ¢ £ and euro-like signs become cents, #, $
        case hyphens                  // three or four hyphens become "--"
        case ellipsis                 // "..."
    }

    /// A rule: its pattern, optional trailing context (must follow, is not consumed), action.
    struct Rule: Sendable {
        let pattern: Pattern
        let context: Pattern?
        let action: Action
    }

    /// Pattern macros.
    enum Source {
        static let sgml = #"<([!?][A-Za-z\-][^>\r\n]*|[A-Za-z][A-Za-z0-9_:.\-]*([ ]+([A-Za-z][A-Za-z0-9_:.\-]*|[A-Za-z][A-Za-z0-9_:.\-]*[ ]*=[ ]*('[^']*'|"[^"]*")))*[ ]*/?|/[A-Za-z][A-Za-z0-9_:.\-]*)[ ]*>"#
        static let emDash = #"&(MD|mdash|ndash);|[\u0096\u0097\u2013\u2014\u2015]"#
        static let ampEntity = #"&amp;"#
        static let punctEntity = #"&(HT|TL|UR|LR|QC|QL|QR|odq|cdq|#[0-9]+);"#
        static let letterEntity = #"&[aeiouAEIOU](acute|grave|uml);"#
        static let space = #"[ \t\u00A0\u2000-\u200A\u3000]"#
        static let newline = #"(\r|\r?\n|\u2028|\u2029|\u000B|\u000C|\u0085)"#
        static let spaceOrNewline = "(\(space)|\(newline))"
        static let sentenceEnd = #"\#(spaceOrNewline)(\#(spaceOrNewline)|\p{upper}|\#(sgml))"#
        static let digit = #"(\p{digit}|[\u07C0-\u07C9])"#
        static let date = #"\#(digit){1,2}[\-/]\#(digit){1,2}[\-/]\#(digit){2,4}"#
        static let number = #"[\-+]?(\#(digit)+|\#(digit)*([.:,\u00AD\u066B\u066C]\#(digit)+)+)"#
        static let superSubNumber = #"[\u207A\u207B\u208A\u208B]?([\u2070\u00B9\u00B2\u00B3\u2074-\u2079]+|[\u2080-\u2089]+)"#
        static let fraction = #"(\#(digit){1,4}[\- \u00A0])?\#(digit){1,4}(\\?/|\u2044)\#(digit){1,4}"#
        static let fractionSign = #"[\u00BC\u00BD\u00BE\u2153-\u215E]"#
        static let dollarSign = #"([A-Z]*\$|#)"#
        static let currencySign = #"[\u00A2\u00A3\u00A4\u00A5\u0080\u20A0\u20AC\u060B\u0E3F\u20A4\uFFE0\uFFE1\uFFE5\uFFE6]"#
        /// Letters plus the combining marks and other characters treated as letters.
        static let letter = #"(\p{letter}|\#(letterEntity)|[\u00AD\u0237-\u024F\u02C2-\u02C5\u02D2-\u02DF\u02E5-\u02FF\u0300-\u036F\u0370-\u037D\u0384\u0385\u03CF\u03F6\u03FC-\u03FF\u0483-\u0487\u04CF\u04F6-\u04FF\u0510-\u0525\u055A-\u055F\u0591-\u05BD\u05BF\u05C1\u05C2\u05C4\u05C5\u05C7\u0615-\u061A\u063B-\u063F\u064B-\u065E\u0670\u06D6-\u06EF\u06FA-\u06FF\u070F\u0711\u0730-\u074F\u0750-\u077F\u07A6-\u07B1\u07CA-\u07F5\u07FA\u0900-\u0903\u093C\u093E-\u094E\u0951-\u0955\u0962-\u0963\u0981-\u0983\u09BC-\u09C4\u09C7\u09C8\u09CB-\u09CD\u09D7\u09E2\u09E3\u0A01-\u0A03\u0A3C\u0A3E-\u0A4F\u0A81-\u0A83\u0ABC-\u0ACF\u0B82\u0BBE-\u0BC2\u0BC6-\u0BC8\u0BCA-\u0BCD\u0C01-\u0C03\u0C3E-\u0C56\u0D3E-\u0D44\u0D46-\u0D48\u0E30-\u0E3A\u0E47-\u0E4E\u0EB1-\u0EBC\u0EC8-\u0ECD])"#
        static let word = #"\#(letter)(\#(letter)|\#(digit))*([.!?]\#(letter)(\#(letter)|\#(digit))*)*"#
        static let fileExtension = "(bat|bmp|c|class|cgi|cpp|dll|doc|docx|exe|gif|gz|h|htm|html|jar|java|jpeg|jpg|mov|mp3|pdf|php|pl|png|ppt|ps|py|sql|tar|txt|wav|x|xml|zip)"
        static let fileName = #"(\#(letter)|\#(digit))+([.](\#(letter)|\#(digit))+)*([.]\#(fileExtension))"#
        static let apostrophe = #"(['\u0092\u2019]|&apos;)"#
        static let apostropheLike = #"(\#(apostrophe)|[`\u0091\u2018\u201B])"#
        static let hyphen = #"[\-_\u058A\u2010\u2011]"#
        static let alphanumeric = #"(\p{letter}|\p{digit})"#
        static let elision = #"([dDoOlL]\#(apostropheLike)\#(alphanumeric))?\#(alphanumeric)+"#
        static let thing = #"\#(elision)(\#(hyphen)\#(elision))*"#
        static let capsWithAmpersand = #"[A-Z]+(([+&]|\#(ampEntity))[A-Z]+)+"#
        static let slashCompound = #"[A-Za-z0-9]+(-[A-Za-z]+){0,2}(\\?/[A-Za-z0-9]+(-[A-Za-z]+){0,2}){1,2}"#
        static let acronymCore = #"(Canada|Sino|Korean|EU|Japan|non)-U\.S|U\.S\.-(U\.K|U\.S\.S\.R)"#
        static let acronym = #"([A-Za-z](\.[A-Za-z])*|\#(acronymCore))"#
        static let dottedAcronym = #"([A-Za-z](\.[A-Za-z])+|\#(acronymCore))"#
        static let hyphenated = #"[A-Za-z0-9][A-Za-z0-9.,\u00AD]*(-([A-Za-z0-9\u00AD]+|\#(dottedAcronym)\.))+"#
        static let reducedAux = #"\#(apostrophe)([msdMSD]|re|ve|ll)"#
        static let beforeNegation = #"[A-Za-z\u00AD]*[A-MO-Za-mo-z](\u00AD)*"#
        static let negation = #"n\#(apostropheLike)t"#
        static let apostropheWord = #"\#(apostrophe)n\#(apostrophe)?|[lLdDjJ]\#(apostrophe)|Dunkin\#(apostrophe)|somethin\#(apostrophe)|ol\#(apostrophe)|\#(apostrophe)em|[A-HJ-XZn]\#(apostropheLike)\p{letter}{2}\p{letter}*|\#(apostrophe)[2-9]0s|\#(apostrophe)till?|\p{letter}\p{letter}*[aeiouyAEIOUY]\#(apostropheLike)[aeiouA-Z]\p{letter}*|\#(apostrophe)cause|cont'd\.?|'twas|nor'easter|c'mon|e'er|s'mores|ev'ry|li'l|nat'l|O\#(apostropheLike)o"#
        static let fullURL = #"https?://[^ \t\n\f\r"<>|(){}]+[^ \t\n\f\r"<>|.!?(){},\-]"#
        /// Note the range `\u002C-\u005F` (`,-_` in the original), which excludes digits and capitals.
        static let likelyURL = #"((www\.([^ \t\n\f\r"<>|.!?(){},]+\.)+[a-zA-Z]{2,4})|(([^ \t\n\f\r"`'<>|.!?(){}\u002C-\u005F$]+\.)+(com|net|org|edu)))(/[^ \t\n\f\r"<>|()]+[^ \t\n\f\r"<>|.!?(){},\-])?"#
        static let email = #"(&lt;|<)?[a-zA-Z0-9][^ \t\n\f\r"<>|()\u00A0{}]*@([^ \t\n\f\r"<>|(){}.\u00A0]+\.)*([^ \t\n\f\r"<>|(){}.\u00A0]+)(&gt;|>)?"#
        static let twitter = #"@[a-zA-Z_][a-zA-Z_0-9]*|#\#(letter)+"#
        static let months = "Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec"
        static let days = "Mon|Tue|Tues|Wed|Thu|Thurs|Fri"
        static let states = "Ala|Ariz|[A]z|[A]rk|Calif|Colo|Conn|Ct|Dak|[D]el|Fla|Ga|[I]ll|Ind|Kans?|Ky|[L]a|[M]ass|Md|Mich|Minn|[M]iss|Mo|Mont|Neb|Nev|Okla|[O]re|[P]a|Penn|Tenn|[T]ex|Va|Vt|[W]ash|Wisc?|Wyo"
        static let companies = "Inc|Cos?|Corp|Pp?t[ye]s?|Ltd|Plc|Rt|Bancorp|Bhd|Assn|Univ|Intl|Sys"
        static let beforeNumbers = "tel|est|ext|sq"
        static let suffixes = #"Jr|Sr|Bros|(Ed|Ph)\.D|Blvd|Rd|Esq"#
        /// Abbreviations usually followed by a lower-case word.
        static let lowerAbbreviation = #"(\#(months)|\#(days)|\#(states)|\#(companies)|\#(beforeNumbers)|\#(suffixes)|etc|al|seq|Bldg)\."#
        static let titles = "Mr|Mrs|Ms|[M]iss|Drs?|Profs?|Sens?|Reps?|Attys?|Lt|Col|Gen|Messrs|Govs?|Adm|Rev|Maj|Sgt|Cpl|Pvt|Capt|Ste?|Ave|Pres|Lieut|Hon|Brig|Co?mdr|Pfc|Spc|Supts?|Det|Mt|Ft|Adj|Adv|Asst|Assoc|Ens|Insp|Mlle|Mme|Msgr|Sfc"
        /// Abbreviations usually followed by a capitalised word (without their period).
        static let upperAbbreviation = #"(\#(titles)|vs|Alex|Wm|Jos|Cie|a\.k\.a|cf|TREAS|Ph|\#(acronym)|Invt|Elec|Natl|M[ft]g|Dept)"#
        static let numberAbbreviation = #"(ca|figs?|prop|nos?|art|bldg|prop|pp|op)\."#
        static let phone = #"(\([0-9]{2,3}\)[ \u00A0]?|(\+\+?)?([0-9]{2,4}[\- \u00A0])?[0-9]{2,4}[\- \u00A0])[0-9]{3,4}[\- \u00A0]?[0-9]{3,5}|((\+\+?)?[0-9]{2,4}\.)?[0-9]{2,4}\.[0-9]{3,4}\.[0-9]{3,5}"#
        static let ellipsis = #"\.{3,5}|(\.[ \u00A0]){2,4}\.|[\u0085\u2026]"#
        static let inSentencePunctuation = #"[,;:\u3001]"#
        static let quotes = #"\#(apostrophe)|''|[`\u2018\u2019\u201A\u201B\u201C\u201D\u0091\u0092\u0093\u0094\u201E\u201F\u2039\u203A\u00AB\u00BB]{1,2}"#
        static let doubleQuote = #"("|&quot;)"#
        static let treebankSpecial = #"-(RRB|LRB|RCB|LCB|RSB|LSB)-|C\.D\.s|pro-|anti-|S(&|&amp;)P-500|S(&|&amp;)Ls|Cap\#(apostrophe)n|c\#(apostrophe)est"#
        static let decadeYear = #"\#(apostrophe)[0-9][0-9]"#
        static let smiley = #"[<>]?[:;=][\-o*']?[()DPdpO\\{@|\[\]]"#
        /// The first alternative really is one character then the literal `.[^x=~<>]`.
        static let asianSmiley = #"[\^x=~<>]\.\[\^x=~<>\]|[\-\^x=~<>']_[\-\^x=~<>']|\([\-\^x=~<>'][_.]?[\-\^x=~<>']\)|\([\^x=~<>']-[\^x=~<>'`]\)"#
        static let symbol = #"[+%&~\^|\\¦\u00A7¨\u00A9\u00AC\u00AE¯\u00B0-\u00B3\u00B4-\u00BA\u00D7\u00F7\u0387\u05BE\u05C0\u05C3\u05C6\u05F3\u05F4\u0600-\u0603\u0606-\u060A\u060C\u0614\u061B\u061E\u066A\u066D\u0703-\u070D\u07F6\u07F7\u07F8\u0964\u0965\u0E4F\u1FBD\u2016\u2017\u2020-\u2023\u2030-\u2038\u203B\u203E-\u2042\u2044\u207A-\u207F\u208A-\u208E\u2100-\u214F\u2190-\u21FF\u2200-\u2BFF\u3012\u30FB\uFF01-\uFF0F\uFF1A-\uFF20\uFF3B-\uFF40\uFF5B-\uFF65]"#
        /// Words after which an acronym's period also ends the sentence (case-sensitive first letter).
        static let sentenceStarters = #"([A]bout|[A]ccording|[A]dditionally|[A]fter|[A]n|[A]|[A]s|[A]t|[B]ut|[E]arlier|[H]e|[H]er|[H]ere|[H]owever|[I]f|[I]n|[I]t|[L]ast|[M]any|[M]ore|[M]r\.|[M]s\.|[N]ow|[O]nce|[O]ne|[O]ther|[O]ur|[S]he|[S]ince|[S]o|[S]ome|[S]uch|[T]hat|[T]he|[T]heir|[T]hen|[T]here|[T]hese|[T]hey|[T]his|[W]e|[W]hen|[W]hile|[W]hat|[Y]et|[Y]ou|\#(sgml))"#
    }

    /// The rules in priority order: (pattern, trailing context or nil, action).
    static let ruleSources: [(String, String?, Action)] = {
        typealias S = Source
        return [
            ("c[+][+]", nil, .keep),
            ("(c|f)#", nil, .keep),
            ("cannot", nil, .pushBack(3)),
            ("'twas", nil, .pushBack(3)),
            ("'tis", nil, .pushBack(2)),
            ("gonna|gotta|lemme|gimme|wanna", nil, .pushBack(2)),
            (S.sgml, nil, .spaces),
            (S.emDash, nil, .literal("--")),
            (S.ampEntity, nil, .ampersand),
            (S.punctEntity, nil, .keep),
            (S.word, S.reducedAux, .softHyphens),
            (S.beforeNegation, S.negation, .softHyphens),
            (S.word, nil, .softHyphens),
            (S.apostropheWord, nil, .keep),
            (#"y\#(S.apostrophe)"#, #"\p{letter}"#, .keep),
            (S.fullURL, nil, .keep),
            (S.likelyURL, nil, .keep),
            (S.email, nil, .keep),
            (S.twitter, nil, .keep),
            (S.reducedAux, "[^A-Za-z]", .quotes(left: false)),
            (S.negation, "[^A-Za-z]", .quotes(left: false)),
            (S.date, nil, .keep),
            (S.number, nil, .softHyphens),
            (S.superSubNumber, nil, .keep),
            (S.fraction, nil, .spaces),
            (S.fractionSign, nil, .fractions),
            (S.treebankSpecial, nil, .ampersand),
            (S.slashCompound, nil, .keep),
            (S.dollarSign, nil, .keep),
            (S.currencySign, nil, .currency),
            (#"\#(S.acronym)\."#, #"\#(S.spaceOrNewline)+\#(S.sentenceStarters)\#(S.spaceOrNewline)"#,
             .acronymBeforeSentence),
            (S.numberAbbreviation, #"\#(S.spaceOrNewline)?\p{digit}"#, .keep),
            (#"(pt[eyEY]|co)\."#, #"\#(S.space)(ltd|lim)"#, .keep),
            (S.lowerAbbreviation, S.sentenceEnd, .reduplicatePeriod),
            (S.lowerAbbreviation, "[^][^]", .keep),
            (S.lowerAbbreviation, nil, .reduplicatePeriod),
            (#"\#(S.upperAbbreviation)\."#, nil, .keep),
            (S.upperAbbreviation, S.space, .keep),
            (S.acronym, S.spaceOrNewline, .keep),
            (S.decadeYear, S.spaceOrNewline, .keep),
            (S.fileName, #"(\#(S.spaceOrNewline)|[.?!,])"#, .keep),
            (#"\#(S.word)\."#, S.inSentencePunctuation, .softHyphens),
            (S.phone, nil, .phone),
            (S.doubleQuote, "[A-Za-z0-9$]", .quotes(left: true)),
            (S.doubleQuote, nil, .quotes(left: false)),
            (#"\u007F"#, nil, .skip),
            ("<|&lt;", nil, .literal("<")),
            (">|&gt;", nil, .literal(">")),
            (S.smiley, "[^A-Za-z0-9]", .parentheses),
            (S.asianSmiley, nil, .parentheses),
            (#"\{"#, nil, .literal("-LCB-")),
            (#"\}"#, nil, .literal("-RCB-")),
            (#"\["#, nil, .literal("-LSB-")),
            (#"\]"#, nil, .literal("-RSB-")),
            (#"\("#, nil, .literal("-LRB-")),
            (#"\)"#, nil, .literal("-RRB-")),
            (#"\-+"#, nil, .hyphens),
            (S.ellipsis, nil, .ellipsis),
            ("@+|#+|_+", nil, .keep),
            (#"\*+|(\\\*){1,3}"#, nil, .keep),
            (S.inSentencePunctuation, nil, .keep),
            ("[?!]+", nil, .keep),
            (#"[.¡¿\u037E\u0589\u061F\u06D4\u0700-\u0702\u07FA\u3002]"#, nil, .keep),
            ("=", nil, .keep),
            ("/", nil, .keep),
            (#"\#(S.hyphenated)\."#, S.inSentencePunctuation, .softHyphens),
            (S.hyphenated, nil, .softHyphens),
            (#"\#(S.thing)\."#, S.inSentencePunctuation, .keep),
            (S.thing, nil, .keep),
            (#"\#(S.capsWithAmpersand)\."#, S.inSentencePunctuation, .ampersand),
            (S.capsWithAmpersand, nil, .ampersand),
            ("'", #"[A-Za-z][^ \t\n\r\u00A0]"#, .quotes(left: true)),
            (S.reducedAux, nil, .quotes(left: false)),
            (S.negation, nil, .quotes(left: false)),
            (S.quotes, nil, .quotes(left: false)),
            ("<<|>>", nil, .keep),
            (S.symbol, nil, .keep),
            (#"\u0000|\#(S.space)+|[\u200B\u200E-\u200F\uFEFF]"#, nil, .skip),
            (S.newline, nil, .newline),
            ("&nbsp;", nil, .skip),
            (".", nil, .skip),
        ]
    }()
}
