use std::fmt;

use thiserror::Error;

/// A 1-based line and column in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Hash)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

/// An XML input error: what is wrong and where.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum XmlError {
    /// Not well-formed XML.
    #[error("{pos}: malformed XML: {message}")]
    Syntax { pos: Pos, message: String },
    /// An element that is not allowed where it stands.
    #[error("{pos}: unknown element <{element}> in <{parent}>")]
    UnknownElement {
        pos: Pos,
        parent: String,
        element: String,
    },
    /// An attribute that is not allowed on its element.
    #[error("{pos}: unknown attribute '{attribute}' on <{element}>")]
    UnknownAttribute {
        pos: Pos,
        element: String,
        attribute: String,
    },
    /// A value that does not parse or is not one of the allowed values.
    #[error("{pos}: invalid value '{value}' for {what} of <{element}>: {reason}")]
    InvalidValue {
        pos: Pos,
        element: String,
        /// `attribute 'name'` or `content`.
        what: String,
        value: String,
        reason: String,
    },
    /// Something required is absent.
    #[error("{pos}: <{element}> is missing {what}")]
    Missing {
        pos: Pos,
        element: String,
        what: String,
    },
    /// Any other rule libvirt enforces.
    #[error("{pos}: <{element}>: {message}")]
    Invalid {
        pos: Pos,
        element: String,
        message: String,
    },
}

impl XmlError {
    /// Where the error is.
    pub fn pos(&self) -> Pos {
        match self {
            XmlError::Syntax { pos, .. }
            | XmlError::UnknownElement { pos, .. }
            | XmlError::UnknownAttribute { pos, .. }
            | XmlError::InvalidValue { pos, .. }
            | XmlError::Missing { pos, .. }
            | XmlError::Invalid { pos, .. } => *pos,
        }
    }
}
