"""Draw the home exercise figures: one SVG per catalog exercise, in one line-figure style.

The drawings are the project's own work, under the project's licence (docs/home_program.md). Each
figure is a jointed stick person posed by angles, so every drawing shares its proportions, line
weights and colours. Run from the repository root to write web/static/exercises/<id>.svg:

    python tools/draw_exercises.py
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "web" / "static" / "exercises"
CATALOG = ROOT / "telehealth" / "catalog" / "data" / "exercises.json"

WIDTH, HEIGHT, FLOOR = 240, 160, 140
TORSO, UPPER_ARM, FOREARM, THIGH, SHIN, FOOT, HEAD = 42, 24, 22, 30, 30, 9, 10
NEAR, FAR, GHOST, MOVE, PROP = "#0f6e6e", "#86b9b5", "#b9c6ca", "#b04e16", "#d7dfe2"

Point = tuple[float, float]


def _step(start: Point, angle: float, length: float) -> Point:
    # Angles in degrees as SVG draws them: 0 points right, 90 points down.
    rad = math.radians(angle)
    return (start[0] + length * math.cos(rad), start[1] + length * math.sin(rad))


@dataclass(frozen=True)
class Pose:
    """A person posed by the hip's place and each segment's direction."""

    hip: Point
    torso: float = -90
    head: float | None = None
    arm: tuple[float, float] = (95, 95)
    arm2: tuple[float, float] | None = None
    leg: tuple[float, float, float] = (90, 90, 0)
    leg2: tuple[float, float, float] | None = None
    # A rounded back (cat-cow): how far the middle of the torso bows, + is toward the floor.
    bow: float = 0


def _line(points: list[Point], colour: str, width: float, dashed: bool = False) -> str:
    d = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    dash = ' stroke-dasharray="5 5"' if dashed else ""
    return (
        f'<polyline points="{d}" fill="none" stroke="{colour}" stroke-width="{width}" '
        f'stroke-linecap="round" stroke-linejoin="round"{dash}/>'
    )


def _figure(pose: Pose, ghost: bool = False) -> str:
    near = GHOST if ghost else NEAR
    far = GHOST if ghost else FAR
    width = 5 if ghost else 7
    hip = pose.hip
    neck = _step(hip, pose.torso, TORSO)
    head = _step(neck, pose.torso if pose.head is None else pose.head, HEAD + 4)
    parts: list[str] = []

    def arm(angles: tuple[float, float], colour: str) -> None:
        elbow = _step(neck, angles[0], UPPER_ARM)
        parts.append(_line([neck, elbow, _step(elbow, angles[1], FOREARM)], colour, width, ghost))

    def leg(angles: tuple[float, float, float], colour: str) -> None:
        knee = _step(hip, angles[0], THIGH)
        ankle = _step(knee, angles[1], SHIN)
        parts.append(_line([hip, knee, ankle, _step(ankle, angles[2], FOOT)], colour, width, ghost))

    if pose.arm2 is not None:
        arm(pose.arm2, far)
    if pose.leg2 is not None:
        leg(pose.leg2, far)
    if pose.bow:
        mid = ((hip[0] + neck[0]) / 2, (hip[1] + neck[1]) / 2)
        normal = pose.torso + 90
        control = _step(mid, normal, pose.bow * 2)
        dash = ' stroke-dasharray="5 5"' if ghost else ""
        parts.append(
            f'<path d="M{hip[0]:.1f},{hip[1]:.1f} Q{control[0]:.1f},{control[1]:.1f} '
            f'{neck[0]:.1f},{neck[1]:.1f}" fill="none" stroke="{near}" stroke-width="{width}" '
            f'stroke-linecap="round"{dash}/>'
        )
    else:
        parts.append(_line([hip, neck], near, width, ghost))
    leg(pose.leg, near)
    arm(pose.arm, near)
    fill = "none" if ghost else "#ffffff"
    parts.append(
        f'<circle cx="{head[0]:.1f}" cy="{head[1]:.1f}" r="{HEAD}" fill="{fill}" '
        f'stroke="{near}" stroke-width="{width - 1}"/>'
    )
    return "\n  ".join(parts)


def arrow(start: Point, end: Point, bend: float = 0) -> str:
    """A motion arrow from start to end, bowed sideways by `bend` pixels."""
    mid = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2)
    angle = math.degrees(math.atan2(end[1] - start[1], end[0] - start[0]))
    control = _step(mid, angle - 90, bend)
    tip = math.degrees(math.atan2(end[1] - control[1], end[0] - control[0]))
    left, right = _step(end, tip + 150, 8), _step(end, tip - 150, 8)
    return (
        f'<path d="M{start[0]:.1f},{start[1]:.1f} Q{control[0]:.1f},{control[1]:.1f} '
        f'{end[0]:.1f},{end[1]:.1f}" fill="none" stroke="{MOVE}" stroke-width="3" '
        f'stroke-linecap="round"/>\n  '
        f'<path d="M{left[0]:.1f},{left[1]:.1f} L{end[0]:.1f},{end[1]:.1f} '
        f'L{right[0]:.1f},{right[1]:.1f}" fill="none" stroke="{MOVE}" stroke-width="3" '
        f'stroke-linecap="round" stroke-linejoin="round"/>'
    )


def mat() -> str:
    """An exercise mat on the floor."""
    return f'<rect x="14" y="{FLOOR - 4}" width="212" height="6" rx="3" fill="{PROP}"/>'


def chair(x: float, facing_right: bool = True) -> str:
    """A plain chair whose seat front is at x (the sitter faces away from the back)."""
    back = x - 34 if facing_right else x + 34
    seat_y = 104
    return (
        f'<path d="M{x:.0f},{seat_y} L{back:.0f},{seat_y} L{back:.0f},{seat_y - 40} '
        f"M{x - (4 if facing_right else -4):.0f},{seat_y} L{x - (4 if facing_right else -4):.0f},"
        f'{FLOOR} M{back:.0f},{seat_y} L{back:.0f},{FLOOR}" fill="none" stroke="{PROP}" '
        f'stroke-width="6" stroke-linecap="round" stroke-linejoin="round"/>'
    )


def table(x0: float, x1: float, y: float = 96) -> str:
    """A table (or counter) top from x0 to x1 at height y, on two legs."""
    return (
        f'<path d="M{x0},{y} L{x1},{y} M{x0 + 6},{y} L{x0 + 6},{FLOOR} M{x1 - 6},{y} '
        f'L{x1 - 6},{FLOOR}" fill="none" stroke="{PROP}" stroke-width="6" '
        f'stroke-linecap="round"/>'
    )


def roll(x: float, y: float, r: float = 6) -> str:
    """A rolled towel or cushion."""
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{PROP}"/>'


def floor() -> str:
    """The floor line."""
    return (
        f'<line x1="8" y1="{FLOOR + 2}" x2="{WIDTH - 8}" y2="{FLOOR + 2}" stroke="{PROP}" '
        f'stroke-width="3" stroke-linecap="round"/>'
    )


@dataclass(frozen=True)
class Drawing:
    """One exercise: the props behind, the start (ghost) and the pose to reach, and arrows."""

    pose: Pose
    ghost: Pose | None = None
    props: tuple[str, ...] = ()
    marks: tuple[str, ...] = field(default=())


# Poses used by several drawings.
LYING = Pose(hip=(118, 130), torso=180, arm=(8, 2), leg=(-52, 55, -10))
LYING_FLAT = Pose(hip=(118, 130), torso=180, arm=(8, 2), leg=(0, 0, -80))
FOURS = Pose(hip=(140, 110), torso=195, head=200, arm=(90, 90), leg=(90, 0, 0))
STANDING = Pose(hip=(120, 78))
SITTING = Pose(hip=(104, 100), leg=(0, 90, 0), arm=(95, 40))
SIDE = Pose(hip=(120, 128), torso=180, head=180, arm=(185, 185), leg=(20, 160, 180))

DRAWINGS: dict[str, Drawing] = {
    "knee-to-chest-stretch": Drawing(
        Pose(hip=(118, 130), torso=180, arm=(-40, 10), leg=(-130, -5, -60), leg2=(-52, 55, -10)),
        ghost=LYING,
        props=(mat(),),
        marks=(arrow((148, 92), (112, 84), 14),),
    ),
    "piriformis-stretch": Drawing(
        Pose(hip=(118, 130), torso=180, arm=(-30, 20), leg=(-100, 20, 10), leg2=(-120, 0, -80)),
        props=(mat(),),
        marks=(arrow((160, 88), (138, 74), 10),),
    ),
    "cat-cow": Drawing(
        Pose(hip=(140, 110), torso=195, head=230, arm=(90, 90), leg=(90, 0, 0), bow=-9),
        ghost=Pose(hip=(140, 110), torso=195, head=170, arm=(90, 90), leg=(90, 0, 0), bow=7),
        props=(mat(),),
        marks=(arrow((116, 108), (116, 84), 0),),
    ),
    "childs-pose": Drawing(
        Pose(hip=(155, 118), torso=172, head=175, arm=(180, 180), leg=(150, 0, 0)),
        props=(mat(),),
        marks=(arrow((100, 112), (70, 124), -6),),
    ),
    "prone-press-up": Drawing(
        Pose(hip=(130, 128), torso=222, head=235, arm=(103, 103), leg=(0, 0, 80)),
        ghost=Pose(hip=(130, 128), torso=180, head=185, arm=(60, 150), leg=(0, 0, 80)),
        props=(mat(),),
        marks=(arrow((72, 122), (74, 96), 6),),
    ),
    "bridge": Drawing(
        Pose(hip=(125, 110), torso=160, arm=(20, 5), leg=(-20, 80, 0)),
        ghost=Pose(hip=(125, 130), torso=180, arm=(8, 2), leg=(-45, 62, 0)),
        props=(mat(),),
        marks=(arrow((118, 134), (118, 100), 0),),
    ),
    "clamshell": Drawing(
        Pose(
            hip=(120, 126),
            torso=180,
            head=185,
            arm=(185, 185),
            leg=(-40, 150, 180),
            leg2=(20, 150, 180),
        ),
        ghost=SIDE,
        props=(mat(),),
        marks=(arrow((150, 124), (146, 96), 14),),
    ),
    "side-lying-hip-abduction": Drawing(
        Pose(
            hip=(90, 126),
            torso=180,
            head=185,
            arm=(185, 185),
            leg=(-25, -25, -110),
            leg2=(20, 160, 180),
        ),
        ghost=Pose(hip=(90, 126), torso=180, head=185, arm=(185, 185), leg=(0, 0, -90)),
        props=(mat(),),
        marks=(arrow((160, 118), (152, 90), 8),),
    ),
    "bird-dog": Drawing(
        Pose(
            hip=(140, 110),
            torso=195,
            head=195,
            arm=(195, 195),
            leg=(-5, -5, 80),
            arm2=(90, 90),
            leg2=(90, 0, 0),
        ),
        ghost=FOURS,
        props=(mat(),),
        marks=(arrow((40, 80), (28, 78), 0), arrow((190, 96), (205, 100), 0)),
    ),
    "dead-bug": Drawing(
        Pose(
            hip=(130, 128),
            torso=180,
            arm=(180, 180),
            leg=(-10, 15, -60),
            arm2=(-90, -90),
            leg2=(-90, 0, -80),
        ),
        props=(mat(),),
        marks=(arrow((160, 80), (184, 118), -14), arrow((84, 70), (56, 110), 14)),
    ),
    "pelvic-tilt": Drawing(
        LYING,
        props=(mat(),),
        marks=(arrow((108, 112), (126, 116), -10), arrow((100, 142), (100, 134), 0)),
    ),
    "abdominal-bracing": Drawing(
        Pose(hip=(118, 130), torso=180, arm=(40, 20), leg=(-52, 55, -10)),
        props=(mat(),),
        marks=(arrow((96, 104), (96, 118), 0),),
    ),
    "hip-flexor-stretch": Drawing(
        Pose(hip=(110, 80), arm=(20, 5), leg=(60, 90, 0), leg2=(115, 135, 180)),
        props=(table(170, 220, 88), floor()),
        marks=(arrow((96, 80), (116, 80), -6),),
    ),
    "hamstring-stretch": Drawing(
        Pose(hip=(130, 130), torso=180, arm=(-30, -60), leg=(-80, -80, 0), leg2=(-52, 55, -10)),
        props=(
            mat(),
            '<line x1="104" y1="98" x2="135" y2="70" stroke="#b9c6ca" stroke-width="3"/>',
        ),
        marks=(arrow((160, 84), (148, 66), 8),),
    ),
    "standing-hip-extension": Drawing(
        Pose(hip=(110, 78), torso=-95, arm=(150, 160), leg=(70, 75, 180), leg2=(90, 90, 180)),
        props=(table(20, 70, 84), floor()),
        marks=(arrow((130, 124), (146, 118), -8),),
    ),
    "mini-squat": Drawing(
        Pose(hip=(132, 94), torso=-100, arm=(160, 170), leg=(150, 60, 180)),
        ghost=Pose(hip=(124, 78), torso=-90, arm=(160, 170), leg=(90, 90, 180)),
        props=(table(20, 70, 84), floor()),
        marks=(arrow((150, 60), (150, 84), 0),),
    ),
    "sit-to-stand": Drawing(
        Pose(hip=(104, 78), torso=-90, arm=(95, 90)),
        ghost=SITTING,
        props=(chair(104), floor()),
        marks=(arrow((150, 96), (150, 66), -6),),
    ),
    "heel-slides": Drawing(
        LYING,
        ghost=LYING_FLAT,
        props=(mat(),),
        marks=(arrow((200, 122), (168, 122), 0),),
    ),
    "modified-side-plank": Drawing(
        Pose(hip=(130, 116), torso=192, head=192, arm=(95, 180), leg=(25, 175, 175)),
        props=(mat(),),
        marks=(arrow((130, 134), (130, 104), 0),),
    ),
    "hip-hinge": Drawing(
        Pose(hip=(140, 82), torso=-130, head=-130, arm=(100, 90), leg=(100, 80, 180)),
        ghost=Pose(hip=(128, 78), torso=-90, arm=(100, 90), leg=(90, 90, 180)),
        props=(
            floor(),
            '<line x1="150" y1="88" x2="96" y2="22" stroke="#b9c6ca" '
            'stroke-width="4" stroke-linecap="round"/>',
        ),
        marks=(arrow((166, 70), (186, 70), -8),),
    ),
    "lower-trunk-rotation": Drawing(
        Pose(hip=(118, 130), torso=180, arm=(8, 2), leg=(-30, 30, 0), leg2=(-52, 55, -10)),
        ghost=LYING,
        props=(mat(),),
        marks=(arrow((136, 88), (170, 100), -10),),
    ),
    "seated-hip-march": Drawing(
        Pose(hip=(104, 100), leg=(-20, 90, 0), arm=(95, 40), leg2=(0, 90, 0)),
        props=(chair(104), floor()),
        marks=(arrow((148, 96), (148, 76), 0),),
    ),
    "diaphragmatic-breathing": Drawing(
        Pose(hip=(118, 130), torso=180, arm=(30, 10), leg=(-52, 55, -10), arm2=(20, 30)),
        props=(mat(),),
        marks=(arrow((100, 120), (100, 102), 0),),
    ),
    "chin-tuck": Drawing(
        Pose(hip=(104, 100), head=-100, leg=(0, 90, 0), arm=(95, 40)),
        ghost=Pose(hip=(104, 100), head=-70, leg=(0, 90, 0), arm=(95, 40)),
        props=(chair(104), floor()),
        marks=(arrow((132, 40), (116, 40), 0),),
    ),
    "upper-trapezius-stretch": Drawing(
        Pose(
            hip=(120, 100),
            head=-125,
            leg=(100, 85, 0),
            arm=(100, 80),
            leg2=(80, 95, 180),
            arm2=(80, 100),
        ),
        props=(
            '<path d="M86,104 L154,104 M92,104 L92,140 M148,104 L148,140" fill="none" '
            'stroke="#d7dfe2" stroke-width="6" stroke-linecap="round"/>',
            floor(),
        ),
        marks=(arrow((138, 30), (116, 36), 8),),
    ),
    "pendulum": Drawing(
        Pose(
            hip=(150, 80),
            torso=-150,
            head=-160,
            arm=(90, 90),
            arm2=(170, 120),
            leg=(95, 90, 180),
            leg2=(80, 90, 180),
        ),
        props=(table(10, 80, 86), floor()),
        marks=(
            '<ellipse cx="113" cy="102" rx="14" ry="5" fill="none" stroke="#b04e16" '
            'stroke-width="3"/>',
            arrow((100, 104), (104, 106), 0),
        ),
    ),
    "scapular-squeeze": Drawing(
        Pose(hip=(120, 78), arm=(110, 60)),
        props=(floor(),),
        marks=(arrow((146, 52), (128, 52), 0), arrow((94, 52), (112, 52), 0)),
    ),
    "table-slide": Drawing(
        Pose(hip=(70, 100), torso=-65, head=-70, leg=(0, 90, 0), arm=(-5, -5)),
        ghost=Pose(hip=(70, 100), torso=-85, arm=(30, -5), leg=(0, 90, 0)),
        props=(chair(70), table(130, 226, 88), floor()),
        marks=(arrow((150, 78), (180, 78), 0),),
    ),
    "quad-set": Drawing(
        Pose(hip=(70, 104), torso=-80, arm=(100, 90), leg=(0, 0, -80)),
        props=(
            '<rect x="40" y="108" width="180" height="8" rx="3" fill="#d7dfe2"/>',
            roll(116, 101, 5),
        ),
        marks=(arrow((116, 80), (116, 92), 0),),
    ),
    "straight-leg-raise": Drawing(
        Pose(hip=(118, 130), torso=180, arm=(8, 2), leg=(-18, -18, -100), leg2=(-52, 55, -10)),
        ghost=LYING_FLAT,
        props=(mat(),),
        marks=(arrow((196, 122), (186, 96), 6),),
    ),
    "terminal-knee-extension": Drawing(
        Pose(hip=(100, 130), torso=180, arm=(8, 2), leg=(-15, 0, -80)),
        ghost=Pose(hip=(100, 130), torso=180, arm=(8, 2), leg=(-15, 25, -60)),
        props=(mat(), roll(127, 124, 8)),
        marks=(arrow((170, 134), (172, 118), 6),),
    ),
}


def svg(exercise_id: str, name: str, description: str, drawing: Drawing) -> str:
    """The whole SVG document of one exercise."""
    body = [*drawing.props]
    if drawing.ghost is not None:
        body.append(_figure(drawing.ghost, ghost=True))
    body.append(_figure(drawing.pose))
    body.extend(drawing.marks)
    inner = "\n  ".join(body)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-labelledby="title desc">\n'
        f'  <title id="title">{escape(name)}</title>\n'
        f'  <desc id="desc">{escape(description)}</desc>\n'
        f'  <rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>\n'
        f"  {inner}\n</svg>\n"
    )


def main() -> None:
    """Write every catalog exercise's drawing; fail on an exercise without one."""
    exercises = json.loads(CATALOG.read_text(encoding="utf-8"))["exercises"]
    missing = [e["id"] for e in exercises if e["id"] not in DRAWINGS]
    if missing:
        raise SystemExit(f"no drawing for: {', '.join(missing)}")
    OUT.mkdir(parents=True, exist_ok=True)
    for exercise in exercises:
        text = svg(
            exercise["id"],
            exercise["name"],
            exercise.get("instructions") or exercise["steps"][0],
            DRAWINGS[exercise["id"]],
        )
        (OUT / f"{exercise['id']}.svg").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
