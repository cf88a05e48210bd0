//! Shamir's secret sharing over GF(2^8), byte-compatible with the `shamir` package of
//! HashiCorp Vault and OpenBao, so unseal/recovery key shares produced by either combine here
//! and vice versa.
//!
//! Share format (identical to Vault): for an `n`-byte secret every share is `n + 1` bytes,
//! `[y_0, y_1, .., y_{n-1}, x]`. Byte `i` of the secret is the constant term of its own random
//! polynomial of degree `threshold - 1`, `y_i` is that polynomial evaluated at the share's `x`,
//! and the single trailing tag byte is `x`. The field is GF(2^8) reduced by the AES polynomial
//! x^8 + x^4 + x^3 + x + 1 (0x11b), which is the field Vault's log/exp tables (generator 0xe5)
//! describe, so values agree bit for bit.
//!
//! Field arithmetic is written to run in constant time: Vault's tables are indexed by share and
//! secret bytes, which leaks through the cache, so multiplication here is shift-and-add with
//! masks instead, and inversion is a fixed exponentiation chain. Only the `x` coordinates, which
//! are public (they are stored in the clear in every share), ever drive branches or indexing.

use rand::rngs::OsRng;
use rand::seq::SliceRandom;
use rand::RngCore;
use zeroize::Zeroizing;

/// Why [`split`] or [`combine`] refused their input. The `Display` strings are Vault's own error
/// messages so that API responses and logs read the same as Vault's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ShamirError {
    /// [`split`] was asked for fewer shares than the threshold, so the secret could never be
    /// recovered.
    #[error("parts cannot be less than threshold")]
    PartsLessThanThreshold,
    /// [`split`] was asked for more than 255 shares; there are only 255 non-zero x coordinates
    /// in GF(2^8) and x = 0 would be the secret itself.
    #[error("parts cannot exceed 255")]
    TooManyParts,
    /// [`split`] was given a threshold below 2. A threshold of 1 would put the secret verbatim
    /// into every share; callers wanting a single key share should use the key directly.
    #[error("threshold must be at least 2")]
    ThresholdTooSmall,
    /// [`split`] was given an empty secret.
    #[error("cannot split an empty secret")]
    EmptySecret,
    /// [`combine`] was given fewer than two shares.
    #[error("less than two parts cannot be used to reconstruct the secret")]
    TooFewParts,
    /// [`combine`] was given a share shorter than two bytes (at least one value byte plus the x
    /// tag byte are needed).
    #[error("parts must be at least two bytes")]
    PartTooShort,
    /// [`combine`] was given shares of differing lengths; they cannot come from the same split.
    #[error("all parts must be the same length")]
    PartLengthMismatch,
    /// [`combine`] was given two shares with the same x coordinate (trailing byte), which would
    /// make the interpolation divide by zero.
    #[error("duplicate part detected")]
    DuplicatePart,
}

/// Splits `secret` into `parts` shares, any `threshold` of which reconstruct it with
/// [`combine`].
///
/// Each share is `secret.len() + 1` bytes: one evaluated byte per secret byte, then one tag byte
/// holding the share's x coordinate. The x coordinates are distinct, non-zero and drawn at
/// random (the first `parts` entries of a random permutation of 1..=255), and the polynomial
/// coefficients come from the operating system's CSPRNG, exactly as Vault does.
///
/// Limits, checked in Vault's order: `parts >= threshold`, `parts <= 255`, `threshold >= 2`, and
/// a non-empty secret. A threshold of 1 is rejected rather than degenerating into copies of the
/// secret; a caller configured for a single key share should use the key itself instead of
/// calling `split`.
///
/// # Panics
///
/// Panics if the operating system's random number generator fails, as [`OsRng`] does; there is
/// no safe way to continue producing key material without it.
pub fn split(
    secret: &[u8],
    parts: usize,
    threshold: usize,
) -> Result<Vec<Zeroizing<Vec<u8>>>, ShamirError> {
    if parts < threshold {
        return Err(ShamirError::PartsLessThanThreshold);
    }
    if parts > 255 {
        return Err(ShamirError::TooManyParts);
    }
    if threshold < 2 {
        return Err(ShamirError::ThresholdTooSmall);
    }
    if secret.is_empty() {
        return Err(ShamirError::EmptySecret);
    }

    let mut rng = OsRng;
    let tag = secret.len();

    let mut xs: Vec<u8> = (1..=255).collect();
    xs.shuffle(&mut rng);

    // Allocated at full size up front so the secret-bearing buffers never reallocate and leave
    // unzeroed copies behind.
    let mut shares: Vec<Zeroizing<Vec<u8>>> = xs[..parts]
        .iter()
        .map(|&x| {
            let mut share = Zeroizing::new(vec![0u8; tag + 1]);
            share[tag] = x;
            share
        })
        .collect();

    // One buffer reused for every byte's polynomial; Zeroizing wipes the last one on return.
    let mut coefficients = Zeroizing::new(vec![0u8; threshold]);
    for (idx, &byte) in secret.iter().enumerate() {
        coefficients[0] = byte;
        rng.fill_bytes(&mut coefficients[1..]);
        for share in shares.iter_mut() {
            let x = share[tag];
            share[idx] = evaluate(&coefficients, x);
        }
    }

    Ok(shares)
}

/// Reconstructs a secret from shares produced by [`split`] (or by Vault / OpenBao), by Lagrange
/// interpolation at x = 0, taking each share's last byte as its x coordinate.
///
/// Like Vault's, this does not know the threshold: given fewer distinct shares than the
/// threshold used at split time it returns `Ok` with an unrelated value, not an error. Callers
/// must verify the result (for example by decrypting something with it).
///
/// Errors, checked in Vault's order: fewer than two shares, a first share shorter than two
/// bytes, shares of unequal length, and two shares with the same x coordinate.
pub fn combine(parts: &[&[u8]]) -> Result<Zeroizing<Vec<u8>>, ShamirError> {
    if parts.len() < 2 {
        return Err(ShamirError::TooFewParts);
    }
    let part_len = parts[0].len();
    if part_len < 2 {
        return Err(ShamirError::PartTooShort);
    }
    if parts.iter().any(|part| part.len() != part_len) {
        return Err(ShamirError::PartLengthMismatch);
    }
    let tag = part_len - 1;

    // Indexing by x is fine here: x coordinates are public, stored in the clear in each share.
    let mut seen = [false; 256];
    let mut xs = Vec::with_capacity(parts.len());
    for part in parts {
        let x = part[tag];
        if seen[usize::from(x)] {
            return Err(ShamirError::DuplicatePart);
        }
        seen[usize::from(x)] = true;
        xs.push(x);
    }

    // The Lagrange basis values at 0 depend only on the (public) x coordinates, so they are
    // computed once rather than per secret byte as Vault does; the field is exact, so the
    // result is identical. Distinct x values guarantee the divisors are non-zero.
    let basis: Vec<u8> = xs
        .iter()
        .enumerate()
        .map(|(i, &xi)| {
            xs.iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .fold(1u8, |acc, (_, &xj)| gf_mul(acc, gf_div(xj, xi ^ xj)))
        })
        .collect();

    // The y values are read straight out of the caller's shares, so no intermediate buffer of
    // secret-derived samples exists to be wiped.
    let mut secret = Zeroizing::new(vec![0u8; tag]);
    for (idx, out) in secret.iter_mut().enumerate() {
        *out = parts
            .iter()
            .zip(&basis)
            .fold(0u8, |acc, (part, &b)| acc ^ gf_mul(part[idx], b));
    }
    Ok(secret)
}

/// Horner evaluation of `coefficients` (constant term first) at `x`.
fn evaluate(coefficients: &[u8], x: u8) -> u8 {
    coefficients
        .iter()
        .rev()
        .fold(0u8, |acc, &c| gf_mul(acc, x) ^ c)
}

/// Multiplication in GF(2^8) mod 0x11b without tables or data-dependent branches: each step
/// adds `a` under a mask built from the low bit of `b`, then doubles `a`, folding the carried
/// x^8 back in as x^4 + x^3 + x + 1 (0x1b) under a mask built from the top bit.
fn gf_mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0u8;
    for _ in 0..8 {
        product ^= a & 0u8.wrapping_sub(b & 1);
        let carry = 0u8.wrapping_sub(a >> 7);
        a = (a << 1) ^ (carry & 0x1b);
        b >>= 1;
    }
    product
}

/// Multiplicative inverse as a^254: the multiplicative group has order 255, so
/// a^254 = a^-1 for every non-zero a, and the fixed square-and-multiply chain
/// (254 = 2 + 4 + ... + 128) takes the same 14 multiplications for every input. Maps 0 to 0.
fn gf_inv(a: u8) -> u8 {
    let mut power = a;
    let mut acc = 1u8;
    for _ in 0..7 {
        power = gf_mul(power, power);
        acc = gf_mul(acc, power);
    }
    acc
}

/// `a / b`. Only meaningful for non-zero `b` (dividing by zero yields 0 rather than panicking,
/// since `gf_inv(0) == 0`); [`combine`] rules that out by rejecting duplicate x coordinates.
fn gf_div(a: u8, b: u8) -> u8 {
    gf_mul(a, gf_inv(b))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bit-serial reference multiplication with ordinary branches, written independently of the
    /// masked version so the two can be compared exhaustively.
    fn reference_mul(a: u8, b: u8) -> u8 {
        let mut acc: u16 = 0;
        for bit in 0..8 {
            if (b >> bit) & 1 == 1 {
                acc ^= u16::from(a) << bit;
            }
        }
        for bit in (8..16).rev() {
            if (acc >> bit) & 1 == 1 {
                acc ^= 0x11b << (bit - 8);
            }
        }
        u8::try_from(acc).unwrap()
    }

    fn refs(shares: &[Zeroizing<Vec<u8>>]) -> Vec<&[u8]> {
        shares.iter().map(|share| share.as_slice()).collect()
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }

    #[test]
    fn mul_known_answers() {
        // FIPS-197 section 4.2 examples and the classic inverse pair.
        assert_eq!(gf_mul(0x57, 0x83), 0xc1);
        assert_eq!(gf_mul(0x57, 0x13), 0xfe);
        assert_eq!(gf_mul(0x53, 0xca), 0x01);
        assert_eq!(gf_mul(0xca, 0x53), 0x01);
        // Values from Vault's own field tests (shamir_test.go).
        assert_eq!(gf_mul(3, 7), 9);
        assert_eq!(gf_mul(3, 0), 0);
        assert_eq!(gf_mul(0, 3), 0);
        assert_eq!(gf_div(0, 7), 0);
        assert_eq!(gf_div(3, 3), 1);
        assert_eq!(gf_div(6, 3), 2);
    }

    #[test]
    fn inverse_known_answers() {
        assert_eq!(gf_inv(0x53), 0xca);
        assert_eq!(gf_inv(0xca), 0x53);
        assert_eq!(gf_inv(0x01), 0x01);
        assert_eq!(gf_inv(0x02), 0x8d);
        assert_eq!(gf_inv(0x00), 0x00);
    }

    #[test]
    fn powers_of_generator_match_vault_exp_table() {
        // First row pair of expTable in Vault's shamir/tables.go (generator 0xe5); matching it
        // shows that the table-based and constant-time fields are the same field.
        let vault_exp = [
            0x01, 0xe5, 0x4c, 0xb5, 0xfb, 0x9f, 0xfc, 0x12, 0x03, 0x34, 0xd4, 0xc4, 0x16, 0xba,
            0x1f, 0x36,
        ];
        let mut power = 1u8;
        for &expected in &vault_exp {
            assert_eq!(power, expected);
            power = gf_mul(power, 0xe5);
        }
        // And 0xe5 generates the whole multiplicative group, as the tables rely on.
        let mut power = 0xe5u8;
        for k in 1..255 {
            assert_ne!(power, 1, "0xe5^{k} == 1");
            power = gf_mul(power, 0xe5);
        }
        assert_eq!(power, 1);
    }

    #[test]
    fn mul_matches_reference_exhaustively() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(gf_mul(a, b), reference_mul(a, b), "{a:#04x} * {b:#04x}");
            }
        }
    }

    #[test]
    fn field_identities_exhaustively() {
        for a in 0..=255u8 {
            assert_eq!(gf_mul(a, 1), a);
            assert_eq!(gf_mul(1, a), a);
            assert_eq!(gf_mul(a, 0), 0);
            assert_eq!(gf_mul(0, a), 0);
        }
        for a in 1..=255u8 {
            let inv = gf_inv(a);
            assert_eq!(gf_mul(a, inv), 1, "{a:#04x} * inv");
            assert_eq!(gf_div(a, a), 1);
            let brute = (1..=255u8).find(|&b| reference_mul(a, b) == 1).unwrap();
            assert_eq!(inv, brute, "inv({a:#04x})");
            for b in 1..=255u8 {
                assert_eq!(gf_mul(gf_div(a, b), b), a);
            }
        }
    }

    #[test]
    fn combine_hand_built_shares() {
        // Secret "key!" with threshold 3: byte i is the constant term of c0 + c1 x + c2 x^2.
        let secret = b"key!";
        let polys: [[u8; 3]; 4] = [
            [secret[0], 0x17, 0xa9],
            [secret[1], 0xff, 0x01],
            [secret[2], 0x00, 0x80],
            [secret[3], 0x5c, 0x00],
        ];
        let xs = [0x01u8, 0x02, 0x03, 0xfe, 0x80];
        // Evaluated by explicit sum of powers rather than Horner, so `evaluate` is not assumed.
        let shares: Vec<Vec<u8>> = xs
            .iter()
            .map(|&x| {
                let mut share: Vec<u8> = polys
                    .iter()
                    .map(|c| c[0] ^ gf_mul(c[1], x) ^ gf_mul(c[2], gf_mul(x, x)))
                    .collect();
                share.push(x);
                share
            })
            .collect();
        for a in 0..xs.len() {
            for b in 0..xs.len() {
                for c in 0..xs.len() {
                    if a == b || b == c || a == c {
                        continue;
                    }
                    let parts = [&shares[a][..], &shares[b][..], &shares[c][..]];
                    assert_eq!(combine(&parts).unwrap().as_slice(), secret);
                }
            }
        }
        let all: Vec<&[u8]> = shares.iter().map(Vec::as_slice).collect();
        assert_eq!(combine(&all).unwrap().as_slice(), secret);
        // Two points only pin down a line, not this parabola.
        assert_ne!(combine(&all[..2]).unwrap().as_slice(), secret);
    }

    #[test]
    fn evaluate_matches_sum_of_powers() {
        let coefficients = [0x42u8, 0x11, 0x9e, 0x03];
        for x in 0..=255u8 {
            let x2 = gf_mul(x, x);
            let expected = coefficients[0]
                ^ gf_mul(coefficients[1], x)
                ^ gf_mul(coefficients[2], x2)
                ^ gf_mul(coefficients[3], gf_mul(x2, x));
            assert_eq!(evaluate(&coefficients, x), expected);
        }
    }

    #[test]
    fn combine_vault_format_vector() {
        // 3-of-5 shares of this secret, produced with a transcription of Vault's table-based
        // Split (log/exp tables from shamir/tables.go) rather than with this module's field.
        let secret = b"vault-compat-fixed-vector-secret";
        let shares: Vec<Vec<u8>> = [
            "5d084e9f6b7d127d95b0c1480223809f4b12ffe68eb99c7ada2d59bd5512900a2a",
            "ff5c23e0c9eebf0dfaf9a980e619f36af5a89acad4463a4d8a3d629c04974fa001",
            "483b30a86b81e702af9c4c8e986817036ccd34726a9d53905e59f8625ecb750eff",
            "24c5ed475937a9096051021f046ab139c5710a83e1e31ef766d10f3efc4d8f8b80",
            "aedb1013ee4230bdcc5a885df5afa910d132991174a2276a9d174e314b8ddc4d07",
        ]
        .iter()
        .map(|s| hex(s))
        .collect();
        let n = shares.len();
        for mask in 0u32..(1 << n) {
            let subset: Vec<&[u8]> = (0..n)
                .filter(|i| mask & (1 << i) != 0)
                .map(|i| shares[i].as_slice())
                .collect();
            match subset.len() {
                0 | 1 => assert_eq!(combine(&subset), Err(ShamirError::TooFewParts)),
                2 => assert_ne!(combine(&subset).unwrap().as_slice(), secret),
                _ => assert_eq!(combine(&subset).unwrap().as_slice(), secret),
            }
        }
    }

    #[test]
    fn combine_accepts_x_zero_like_vault() {
        // Vault does not reject a share at x = 0; interpolation then just returns its y.
        let a = [0x11u8, 0x22, 0x00];
        let b = [0x33u8, 0x44, 0x01];
        assert_eq!(combine(&[&a, &b]).unwrap().as_slice(), &[0x11, 0x22]);
    }

    #[test]
    fn split_shape_and_roundtrip() {
        let secret = b"test";
        let shares = split(secret, 5, 3).unwrap();
        assert_eq!(shares.len(), 5);
        for share in &shares {
            assert_eq!(share.len(), secret.len() + 1);
        }
        let all = refs(&shares);
        for i in 0..5 {
            for j in 0..5 {
                for k in 0..5 {
                    if i == j || j == k || i == k {
                        continue;
                    }
                    let parts = [all[i], all[j], all[k]];
                    assert_eq!(combine(&parts).unwrap().as_slice(), secret);
                }
            }
        }
        assert_eq!(combine(&all).unwrap().as_slice(), secret);
    }

    #[test]
    fn split_255_parts_uses_every_nonzero_x() {
        // 16 bytes so that 254 shares landing on the secret by chance (256^-16) is negligible.
        let secret = [0xa5u8; 16];
        let shares = split(&secret, 255, 255).unwrap();
        let mut xs: Vec<u8> = shares.iter().map(|s| s[16]).collect();
        xs.sort_unstable();
        assert_eq!(xs, (1..=255).collect::<Vec<u8>>());
        assert_eq!(combine(&refs(&shares)).unwrap().as_slice(), &secret);
        assert_ne!(combine(&refs(&shares)[..254]).unwrap().as_slice(), &secret);
    }

    #[test]
    fn split_x_coordinates_are_randomised() {
        // Vault draws x from a random permutation; a fixed 1..=n assignment would also combine,
        // so check it is not what happens. Sixteen identical draws of 5 from 255 is ~2^-600.
        let draws: Vec<Vec<u8>> = (0..16)
            .map(|_| split(b"s", 5, 2).unwrap().iter().map(|s| s[1]).collect())
            .collect();
        assert!(draws.iter().any(|d| d != &draws[0]));
    }

    #[test]
    fn split_limit_errors() {
        let secret = b"test";
        assert_eq!(
            split(secret, 2, 3),
            Err(ShamirError::PartsLessThanThreshold)
        );
        assert_eq!(
            split(secret, 1, 2),
            Err(ShamirError::PartsLessThanThreshold)
        );
        assert_eq!(split(secret, 256, 3), Err(ShamirError::TooManyParts));
        assert_eq!(split(secret, 1000, 3), Err(ShamirError::TooManyParts));
        assert_eq!(split(secret, 300, 300), Err(ShamirError::TooManyParts));
        assert_eq!(split(secret, 10, 1), Err(ShamirError::ThresholdTooSmall));
        assert_eq!(split(secret, 1, 1), Err(ShamirError::ThresholdTooSmall));
        assert_eq!(split(secret, 0, 0), Err(ShamirError::ThresholdTooSmall));
        assert_eq!(split(b"", 3, 2), Err(ShamirError::EmptySecret));
        // Vault's check order decides which error wins when several apply.
        assert_eq!(split(b"", 1, 2), Err(ShamirError::PartsLessThanThreshold));
        assert_eq!(split(b"", 256, 1), Err(ShamirError::TooManyParts));
        assert_eq!(split(b"", 5, 1), Err(ShamirError::ThresholdTooSmall));
        // Boundaries that must succeed.
        assert!(split(secret, 255, 2).is_ok());
        assert!(split(secret, 2, 2).is_ok());
        assert!(split(&[0], 3, 3).is_ok());
    }

    #[test]
    fn error_messages_match_vault() {
        let cases = [
            (
                ShamirError::PartsLessThanThreshold,
                "parts cannot be less than threshold",
            ),
            (ShamirError::TooManyParts, "parts cannot exceed 255"),
            (
                ShamirError::ThresholdTooSmall,
                "threshold must be at least 2",
            ),
            (ShamirError::EmptySecret, "cannot split an empty secret"),
            (
                ShamirError::TooFewParts,
                "less than two parts cannot be used to reconstruct the secret",
            ),
            (
                ShamirError::PartTooShort,
                "parts must be at least two bytes",
            ),
            (
                ShamirError::PartLengthMismatch,
                "all parts must be the same length",
            ),
            (ShamirError::DuplicatePart, "duplicate part detected"),
        ];
        for (err, msg) in cases {
            assert_eq!(err.to_string(), msg);
        }
    }

    #[test]
    fn combine_too_few_parts() {
        let shares = split(b"secret", 3, 2).unwrap();
        assert_eq!(combine(&[]), Err(ShamirError::TooFewParts));
        assert_eq!(combine(&[&shares[0]]), Err(ShamirError::TooFewParts));
    }

    #[test]
    fn combine_short_parts() {
        assert_eq!(combine(&[b"f", b"b"]), Err(ShamirError::PartTooShort));
        assert_eq!(combine(&[b"", b""]), Err(ShamirError::PartTooShort));
        // Vault only length-checks the first part before the equality check.
        assert_eq!(combine(&[b"f", b"ba"]), Err(ShamirError::PartTooShort));
        assert_eq!(
            combine(&[b"foo", b"b"]),
            Err(ShamirError::PartLengthMismatch)
        );
    }

    #[test]
    fn combine_mismatched_lengths() {
        assert_eq!(
            combine(&[b"foo", b"ba"]),
            Err(ShamirError::PartLengthMismatch)
        );
        let a = split(b"secret", 3, 2).unwrap();
        let b = split(b"longer secret", 3, 2).unwrap();
        assert_eq!(
            combine(&[&a[0], &a[1], &b[2]]),
            Err(ShamirError::PartLengthMismatch)
        );
    }

    #[test]
    fn combine_duplicate_parts() {
        assert_eq!(combine(&[b"foo", b"foo"]), Err(ShamirError::DuplicatePart));

        let shares = split(b"a secret of some length", 5, 3).unwrap();
        assert_eq!(
            combine(&[&shares[0], &shares[1], &shares[0]]),
            Err(ShamirError::DuplicatePart)
        );

        // Different y values but the same x tag is still a duplicate.
        let mut forged = shares[2].to_vec();
        let tag = forged.len() - 1;
        forged[tag] = shares[1][tag];
        assert_eq!(
            combine(&[&shares[0], &shares[1], &forged]),
            Err(ShamirError::DuplicatePart)
        );
    }

    /// A secret, threshold, part count, and a random ordering of all share indices.
    fn split_case(
        secret_len: std::ops::RangeInclusive<usize>,
        threshold: std::ops::RangeInclusive<usize>,
    ) -> impl Strategy<Value = (Vec<u8>, usize, usize, Vec<usize>)> {
        (prop::collection::vec(any::<u8>(), secret_len), threshold)
            .prop_flat_map(|(secret, threshold)| (Just(secret), Just(threshold), threshold..=15))
            .prop_flat_map(|(secret, threshold, parts)| {
                let order = Just((0..parts).collect::<Vec<usize>>()).prop_shuffle();
                (Just(secret), Just(threshold), Just(parts), order)
            })
    }

    proptest! {
        #[test]
        fn prop_threshold_shares_recover_secret(
            (secret, threshold, parts, order) in split_case(1..=64, 2..=10)
        ) {
            let shares = split(&secret, parts, threshold).unwrap();
            prop_assert_eq!(shares.len(), parts);
            let mut seen = [false; 256];
            for share in &shares {
                prop_assert_eq!(share.len(), secret.len() + 1);
                let x = share[secret.len()];
                prop_assert_ne!(x, 0);
                prop_assert!(!seen[usize::from(x)], "repeated x {}", x);
                seen[usize::from(x)] = true;
            }

            let subset: Vec<&[u8]> = order[..threshold].iter().map(|&i| shares[i].as_slice()).collect();
            let recovered = combine(&subset).unwrap();
            prop_assert_eq!(recovered.as_slice(), secret.as_slice());

            // More shares than needed, in the same random order, must agree too.
            let superset: Vec<&[u8]> = order.iter().map(|&i| shares[i].as_slice()).collect();
            let recovered = combine(&superset).unwrap();
            prop_assert_eq!(recovered.as_slice(), secret.as_slice());
        }

        #[test]
        fn prop_below_threshold_does_not_recover_secret(
            // At least 16 bytes so a chance match (256^-len) is negligible; threshold >= 3 so
            // threshold - 1 shares is still a legal input to combine.
            (secret, threshold, parts, order) in split_case(16..=64, 3..=10)
        ) {
            let shares = split(&secret, parts, threshold).unwrap();
            let subset: Vec<&[u8]> = order[..threshold - 1].iter().map(|&i| shares[i].as_slice()).collect();
            let recovered = combine(&subset).unwrap();
            prop_assert_eq!(recovered.len(), secret.len());
            prop_assert_ne!(recovered.as_slice(), secret.as_slice());
        }

        #[test]
        fn prop_duplicated_share_is_rejected(
            (secret, threshold, parts, order) in split_case(1..=64, 2..=10)
        ) {
            let shares = split(&secret, parts, threshold).unwrap();
            let mut subset: Vec<&[u8]> = order[..threshold].iter().map(|&i| shares[i].as_slice()).collect();
            subset.push(shares[order[0]].as_slice());
            prop_assert_eq!(combine(&subset), Err(ShamirError::DuplicatePart));
        }
    }
}
