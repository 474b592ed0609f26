//! Printing the AST back as SQL.
