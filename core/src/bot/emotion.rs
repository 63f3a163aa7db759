//! How upset a visitor sounds: a score of negativity from 0 (calm) to 100.
//!
//! The score is computed where the words arrive and travels in the
//! command (`BotHear::emotion`), so a replay uses the score that was
//! decided on, and a model may replace the lexicon without touching the
//! decisions' determinism.

/// Scores a message's negativity, 0 to 100.
pub trait Sentiment {
    /// The negativity of `text`.
    fn negativity(&self, text: &str) -> u8;
}

/// A lexicon scorer for Chinese and English: strong and mild negative words,
/// intensifiers, exclamation and shouting; an English negation just before
/// a word cancels it ("not bad").
#[derive(Clone, Copy, Debug, Default)]
pub struct Lexicon;

const STRONG: &[&str] = &[
    // English
    "furious",
    "angry",
    "hate",
    "terrible",
    "awful",
    "worst",
    "useless",
    "ridiculous",
    "unacceptable",
    "scam",
    "fraud",
    "disgusting",
    "horrible",
    "pathetic",
    "rip-off",
    "fed up",
    "sick of",
    "waste of time",
    "never again",
    "stupid",
    // 中文
    "气死",
    "愤怒",
    "生气",
    "垃圾",
    "骗子",
    "欺骗",
    "恶心",
    "受够",
    "离谱",
    "太差",
    "差劲",
    "什么破",
    "坑人",
    "无耻",
    "忍无可忍",
    "混蛋",
];

const MILD: &[&str] = &[
    // English
    "disappointed",
    "annoyed",
    "frustrated",
    "frustrating",
    "upset",
    "bad",
    "slow",
    "broken",
    "not working",
    "doesn't work",
    "wrong",
    "problem",
    "complaint",
    "unhappy",
    "still waiting",
    "again",
    // 中文
    "失望",
    "不满",
    "烦",
    "无语",
    "糟糕",
    "太慢",
    "怎么回事",
    "不行",
    "没用",
    "不能用",
    "投诉",
    "着急",
    "郁闷",
    "还没",
    "又",
];

const INTENSIFIERS: &[&str] = &[
    "very",
    "so ",
    "really",
    "extremely",
    "非常",
    "太",
    "真的",
    "特别",
    "极其",
];

const NEGATIONS: &[&str] = &["not ", "no ", "isn't ", "wasn't ", "never "];

impl Lexicon {
    /// Points for the words of `list` found in `lower`, `each` per word.
    fn hits(lower: &str, list: &[&str], each: u32) -> u32 {
        list.iter()
            .filter(|w| {
                lower.match_indices(*w).any(|(at, _)| {
                    let before = &lower[..at];
                    !NEGATIONS.iter().any(|n| before.ends_with(n))
                })
            })
            .count() as u32
            * each
    }
}

impl Sentiment for Lexicon {
    fn negativity(&self, text: &str) -> u8 {
        let lower = text.to_lowercase();
        let words = Self::hits(&lower, STRONG, 45) + Self::hits(&lower, MILD, 20);
        if words == 0 {
            return 0;
        }
        let intense = INTENSIFIERS.iter().any(|w| lower.contains(w));
        let bangs = text.chars().filter(|c| *c == '!' || *c == '！').count() as u32;
        let shouted = text
            .split_whitespace()
            .any(|w| w.len() >= 4 && w.chars().all(|c| c.is_ascii_uppercase()));
        let score =
            words + if intense { 15 } else { 0 } + bangs.min(3) * 5 + if shouted { 15 } else { 0 };
        score.min(100) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calm_words_score_nothing_and_anger_scores_high_in_both_languages() {
        let l = Lexicon;
        assert_eq!(l.negativity("Hello, where is my parcel?"), 0);
        assert_eq!(l.negativity("你好，我想查一下订单"), 0);
        assert!(l.negativity("This is terrible, I am so angry!!") >= 90);
        assert!(l.negativity("太差了，气死我了！") >= 90);
        assert!((20..50).contains(&l.negativity("I am a bit disappointed")));
    }

    #[test]
    fn a_negation_cancels_the_word_after_it() {
        assert_eq!(Lexicon.negativity("not bad at all"), 0);
        assert!(Lexicon.negativity("bad at all") > 0);
    }
}
