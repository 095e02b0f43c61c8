//! Transitional: the generic body readers moved to `crate::app::json_input`.

pub use super::params::validate_tag;
pub use crate::app::json_input::{
    extra_object, forbid, merge_extra, name, opt_bool, opt_name, opt_str, opt_str_list, Body,
};
